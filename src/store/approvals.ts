/**
 * Requests waiting for a person, and the rules and modes people chose per conversation. A request
 * is decided by one conditional update (`where status = 'pending'`), so a double click or two
 * approvers at once decide it once.
 */
import type { ApprovalStatus, Choice, PermissionAsk, PermissionMode } from '../approvals/types.js';
import { Statement, type ApprovalRow, type Db, type PermissionRule } from './db.js';

export interface NewApproval {
  conversationId: string;
  messageId: number;
  ask: PermissionAsk;
  requestedBy: string;
  waiting: number;
  expiresAt: number;
}

export class Approvals {
  constructor(private readonly db: Db) {}

  create(a: NewApproval, now = Date.now()): ApprovalRow {
    const { id } = this.db.first(this.db.q.insertInto('approvals').values({
      conversation_id: a.conversationId, message_id: a.messageId, kind: a.ask.kind, tool: a.ask.tool,
      input: JSON.stringify(a.ask.input), suggestions: JSON.stringify(a.ask.suggestions), requested_by: a.requestedBy,
      status: 'pending', choice: null, reason: null, answers: '{}', decided_by: null, platform_ref: null,
      waiting: a.waiting, expires_at: a.expiresAt, created_at: now, decided_at: null,
    }).returning('id'))!;
    return this.get(id)!;
  }

  get(id: number): ApprovalRow | undefined {
    return this.db.first(this.db.q.selectFrom('approvals').selectAll().where('id', '=', id));
  }

  pending(conversationId?: string): ApprovalRow[] {
    if (conversationId) return this.db.all(pendingIn.with({ conversationId }));
    const q = this.db.q.selectFrom('approvals').selectAll().where('status', '=', 'pending');
    return this.db.all(q.orderBy('id'));
  }

  /** The pending request shown by this platform message (a reply to it answers it). */
  pendingByRef(conversationId: string, platformRef: string): ApprovalRow | undefined {
    return this.db.first(this.db.q.selectFrom('approvals').selectAll()
      .where('conversation_id', '=', conversationId).where('platform_ref', '=', platformRef).where('status', '=', 'pending'));
  }

  setRef(id: number, platformRef: string): void {
    this.db.run(this.db.q.updateTable('approvals').set({ platform_ref: platformRef }).where('id', '=', id));
  }

  /** Decides a pending request. False when it was no longer pending (decided, expired): nothing changed. */
  resolve(id: number, status: Exclude<ApprovalStatus, 'pending'>, fields: { choice?: Choice; reason?: string; decidedBy?: string }, now = Date.now()): boolean {
    return this.db.run(this.db.q.updateTable('approvals')
      .set({ status, choice: fields.choice ?? null, reason: fields.reason ?? null, decided_by: fields.decidedBy ?? null, decided_at: now })
      .where('id', '=', id).where('status', '=', 'pending')).changes === 1;
  }

  /** Records a question's answer so far (multi-select toggles, one of several questions). */
  setAnswers(id: number, answers: Record<string, string[]>): boolean {
    return this.db.run(this.db.q.updateTable('approvals').set({ answers: JSON.stringify(answers) })
      .where('id', '=', id).where('status', '=', 'pending')).changes === 1;
  }

  /** Requests of an earlier attempt at this turn (a crash, a restart): they can no longer be answered. */
  expireForMessage(messageId: number, now = Date.now()): ApprovalRow[] {
    const stale = this.db.all(pendingFor.with({ messageId }));
    for (const row of stale) this.resolve(row.id, 'expired', { reason: 'restarted' }, now);
    return stale.map((row) => this.get(row.id)!);
  }

  rules(conversationId: string): PermissionRule[] {
    return this.db.all(rulesOf.with({ conversationId }));
  }

  addRules(conversationId: string, rules: string[], createdBy: string, now = Date.now()): void {
    for (const rule of rules) {
      this.db.run(this.db.q.insertInto('permission_rules')
        .values({ conversation_id: conversationId, rule, created_by: createdBy, created_at: now })
        .onConflict((oc) => oc.doNothing()));
    }
  }

  removeRule(id: number): void {
    this.db.run(this.db.q.deleteFrom('permission_rules').where('id', '=', id));
  }

  setMode(conversationId: string, mode: PermissionMode | null): void {
    this.db.run(this.db.q.updateTable('conversations').set({ permission_mode: mode, updated_at: Date.now() }).where('id', '=', conversationId));
  }
}

// The statements every turn runs, compiled once (see Statement).
const pendingIn = new Statement((q, a: { conversationId: string }) =>
  q.selectFrom('approvals').selectAll().where('status', '=', 'pending').where('conversation_id', '=', a.conversationId).orderBy('id'));
const pendingFor = new Statement((q, a: { messageId: number }) =>
  q.selectFrom('approvals').selectAll().where('message_id', '=', a.messageId).where('status', '=', 'pending'));
const rulesOf = new Statement((q, a: { conversationId: string }) =>
  q.selectFrom('permission_rules').selectAll().where('conversation_id', '=', a.conversationId).orderBy('id'));
