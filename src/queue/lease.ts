/**
 * A conversation is drained by at most one worker at a time, whatever the queue driver: the worker
 * holds a lease row in SQLite, renews it while it works, and deletes it when done. A lease whose
 * owner died expires; one owned by a dead process on this same machine is taken over at once.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { isGoneLocally, localProcessOf, processRecord } from '../process-id.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';

/**
 * host:pid:nonce, one per process. The nonce tells a restarted process from its predecessor (pid 1 in
 * every container); every Leases of a process shares it, so none takes the others' leases for a
 * predecessor's (the queue's reclaimDead would free the gateway's platform leases).
 */
const PROCESS_OWNER = `${processRecord(process.pid)}:${crypto.randomBytes(4).toString('hex')}`;

export class Leases {
  readonly owner = PROCESS_OWNER;

  constructor(private readonly db: Db, private readonly leaseMs: number) {}

  claim(conversationId: string, now = Date.now()): boolean {
    const expires = now + this.leaseMs;
    const taken = this.db.run(
      this.db.q.insertInto('leases').values({ conversation_id: conversationId, owner: this.owner, expires_at: expires })
        .onConflict((oc) => oc.column('conversation_id').doUpdateSet({ owner: this.owner, expires_at: expires })
          .where(sql.ref('leases.expires_at'), '<', now)),
    ).changes === 1;
    if (taken) return true;
    const holder = this.db.first(this.db.q.selectFrom('leases').select('owner').where('conversation_id', '=', conversationId));
    if (holder && this.isDeadLocalOwner(holder.owner)) {
      return this.db.run(
        this.db.q.updateTable('leases').set({ owner: this.owner, expires_at: expires })
          .where('conversation_id', '=', conversationId).where('owner', '=', holder.owner),
      ).changes === 1;
    }
    return false;
  }

  /** Extends the leases held on `conversationIds`; returns how many were no longer ours. */
  renew(conversationIds: Iterable<string>, now = Date.now()): number {
    const ids = [...conversationIds];
    if (!ids.length) return 0;
    const renewed = this.db.run(
      this.db.q.updateTable('leases').set({ expires_at: now + this.leaseMs })
        .where('owner', '=', this.owner).where('conversation_id', 'in', ids),
    ).changes;
    return ids.length - Number(renewed);
  }

  /** Renews the leases of what `running` lists every third of a lease, until the timer is cleared. */
  keepRenewing(running: () => Iterable<string>, log: Logger): NodeJS.Timeout {
    const timer = setInterval(() => {
      let lost = 0;
      try {
        lost = this.renew(running());
      } catch (err) {
        log.warn({ err }, 'could not renew leases (the database is unreachable?); trying again');
        return;
      }
      // Only a stall longer than a lease gets here: another worker may now run the same turn again.
      if (lost) log.warn({ lost, leaseMs: this.leaseMs }, 'this process stalled past its lease: other workers may take its conversations over (raise worker.lease_s)');
    }, Math.max(200, this.leaseMs / 3));
    timer.unref();
    return timer;
  }

  release(conversationId: string): void {
    this.db.run(this.db.q.deleteFrom('leases').where('conversation_id', '=', conversationId).where('owner', '=', this.owner));
  }

  /** Drops every lease of dead processes of this machine, so their conversations resume right away. */
  reclaimDead(): number {
    const rows = this.db.all(this.db.q.selectFrom('leases').select(['conversation_id', 'owner']));
    let freed = 0;
    for (const row of rows) {
      if (this.isDeadLocalOwner(row.owner)) {
        freed += this.db.run(this.db.q.deleteFrom('leases').where('conversation_id', '=', row.conversation_id).where('owner', '=', row.owner)).changes;
      }
    }
    return freed;
  }

  private isDeadLocalOwner(owner: string): boolean {
    if (owner === this.owner) return false;
    if (localProcessOf(owner)?.pid === process.pid) return true; // our pid, another nonce: our predecessor
    return isGoneLocally(owner);
  }
}
