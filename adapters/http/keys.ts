/**
 * API keys: only their SHA-256 is kept (in the config, or in the database for the key cligate makes
 * at first start). A request carries the key as `Authorization: Bearer <key>` or `x-api-key`.
 */
import crypto from 'node:crypto';

export interface KeyEntry {
  sha256: string;
  user: string;
  /** Sees every conversation of every channel; others see only their own (`Reader`). */
  admin?: boolean;
}

/** Whom a request's key belongs to. */
export interface KeyHolder {
  user: string;
  admin: boolean;
}

export function sha256(text: string): string {
  return crypto.createHash('sha256').update(text).digest('hex');
}

export function newKey(): string {
  return `cg_${crypto.randomBytes(24).toString('base64url')}`;
}

export class ApiKeys {
  private readonly byHash = new Map<string, KeyHolder>();

  constructor(entries: KeyEntry[]) {
    for (const e of entries) this.add(e);
  }

  get size(): number {
    return this.byHash.size;
  }

  add(entry: KeyEntry): void {
    this.byHash.set(entry.sha256, { user: entry.user, admin: entry.admin ?? false });
  }

  /** Whom a key belongs to, or undefined. */
  holderOf(key: string): KeyHolder | undefined {
    return this.byHash.get(sha256(key));
  }
}

/** The key from a request's headers, if any. */
export function keyFromHeaders(headers: { authorization?: string; 'x-api-key'?: string }): string | undefined {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (m) return m[1];
  }
  return headers['x-api-key']?.trim() || undefined;
}
