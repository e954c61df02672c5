/**
 * Share links of terminal tabs: a token for one tab or for every tab of one conversation, view-only
 * or read-write, with an expiry, revocable. Only its SHA-256 is stored (migrations/007). A link never
 * grants more than its creator has: whoever may only watch a tab makes view-only links of it. The
 * gateway checks a share at every connection and again every few seconds while its sockets are open,
 * so an expiry or a revocation (here or by `cligate share --revoke`) closes them.
 */
import crypto from 'node:crypto';
import type { Db, TerminalShare } from '../store/db.js';

export const MAX_SHARE_S = 7 * 24 * 3600;

export interface NewShare {
  conversationId: string;
  tabId?: string;
  mode: 'view' | 'write';
  createdBy: string;
  creatorAdmin: boolean;
  expiresInS: number;
}

export type ShareView = Omit<TerminalShare, 'token_sha256'>;

const hash = (token: string) => crypto.createHash('sha256').update(token).digest('hex');

export class Shares {
  constructor(private readonly db: Db) {}

  /** Makes a share; the token is returned only now. */
  create(share: NewShare, now = Date.now()): { token: string; share: ShareView } {
    const token = `cgs_${crypto.randomBytes(24).toString('base64url')}`;
    const expires = now + Math.min(MAX_SHARE_S, Math.max(60, share.expiresInS)) * 1000;
    const { id } = this.db.first(this.db.q.insertInto('terminal_shares').values({
      token_sha256: hash(token), conversation_id: share.conversationId, tab_id: share.tabId ?? null, mode: share.mode,
      created_by: share.createdBy, creator_admin: share.creatorAdmin ? 1 : 0, created_at: now, expires_at: expires, revoked_at: null,
    }).returning('id'))!;
    return { token, share: this.get(id)! };
  }

  /** The live share a token stands for (not expired, not revoked), or undefined. */
  find(token: string, now = Date.now()): ShareView | undefined {
    const row = this.db.first(this.db.q.selectFrom('terminal_shares').selectAll().where('token_sha256', '=', hash(token)));
    return row && live(row, now) ? strip(row) : undefined;
  }

  get(id: number): ShareView | undefined {
    const row = this.db.first(this.db.q.selectFrom('terminal_shares').selectAll().where('id', '=', id));
    return row && strip(row);
  }

  valid(id: number, now = Date.now()): boolean {
    const row = this.get(id);
    return !!row && row.revoked_at === null && row.expires_at > now;
  }

  /** A conversation's shares still alive. */
  list(conversationId: string, now = Date.now()): ShareView[] {
    return this.db.all(this.db.q.selectFrom('terminal_shares').selectAll().where('conversation_id', '=', conversationId)
      .where('revoked_at', 'is', null).where('expires_at', '>', now).orderBy('id')).map(strip);
  }

  revoke(id: number, now = Date.now()): boolean {
    return this.db.run(this.db.q.updateTable('terminal_shares').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null)).changes > 0;
  }
}

function live(row: TerminalShare, now: number): boolean {
  return row.revoked_at === null && row.expires_at > now;
}

function strip({ token_sha256: _, ...rest }: TerminalShare): ShareView {
  return rest;
}
