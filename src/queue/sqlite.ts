/**
 * The embedded queue driver: the inbox in SQLite is the queue. Workers of this process pick the
 * conversations with waiting messages (oldest first), claim each one's lease and drain it. A wake
 * from this process starts work at once; work added by other processes is found by polling.
 */
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { Leases } from './lease.js';
import { ActiveDrains, type Drain, type JobQueue, type QueueStats } from './types.js';

export interface SqliteQueueOptions {
  store: Store;
  leaseMs: number;
  log: Logger;
  /** How often to look for work added by other processes (and leases that expired). */
  pollMs?: number;
}

export class SqliteQueue implements JobQueue {
  readonly driver = 'sqlite' as const;
  readonly leases: Leases;
  private readonly drains = new ActiveDrains();
  private drain?: Drain;
  private concurrency = 0;
  private pumpScheduled = false;
  /**
   * Conversations woken in this process, oldest wake first: the next drains start from here without
   * a look at the whole inbox.
   */
  private readonly woken = new Set<string>();
  private timers: NodeJS.Timeout[] = [];

  constructor(private readonly options: SqliteQueueOptions) {
    this.leases = new Leases(options.store.db, options.leaseMs);
  }

  async wake(conversationId: string): Promise<void> {
    this.woken.add(conversationId);
    this.schedulePump();
  }

  async startWorkers(drain: Drain, concurrency: number): Promise<void> {
    this.drain = drain;
    this.concurrency = concurrency;
    const freed = this.leases.reclaimDead();
    if (freed) this.options.log.info({ freed }, 'took over conversations of a crashed worker');
    const poll = setInterval(() => this.schedulePump(), this.options.pollMs ?? 1000);
    const renew = this.leases.keepRenewing(() => this.drains.running.keys(), this.options.log);
    poll.unref();
    this.timers.push(poll, renew);
    this.schedulePump();
  }

  async stopWorkers(graceMs: number): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    const keepAlive = this.leases.keepRenewing(() => this.drains.running.keys(), this.options.log);
    await this.drains.stop(graceMs);
    clearInterval(keepAlive);
  }

  async stats(): Promise<QueueStats> {
    const waiting = this.options.store.messages.pendingConversations().filter((c) => !this.drains.running.has(c)).length;
    return { waiting, active: this.drains.running.size };
  }

  async ping(): Promise<string | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
  }

  /** Coalesces many wakes in one tick into one look at the inbox. */
  private schedulePump(): void {
    if (this.pumpScheduled || !this.drain) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (!this.drain || this.drains.isStopping) return;
    if (this.drains.running.size >= this.concurrency) return;
    // Woken conversations first; the whole inbox (oldest first) only when they leave room: its
    // look costs more the more messages wait, and it finds other processes' work.
    this.start(this.woken);
    if (this.drains.running.size >= this.concurrency) return;
    this.start(this.options.store.messages.pendingConversations());
  }

  /** Starts draining conversations of `candidates` while there is room; a woken one that runs stays woken for after. */
  private start(candidates: Iterable<string>): void {
    for (const conversationId of candidates) {
      if (this.drains.running.size >= this.concurrency) return;
      if (this.drains.running.has(conversationId)) continue;
      this.woken.delete(conversationId);
      if (!this.leases.claim(conversationId)) continue;
      const work = this.drain!(conversationId, this.drains.signal)
        .catch((err) => this.options.log.error({ err, conversationId }, 'drain failed'));
      void this.drains.track(conversationId, work, () => {
        this.leases.release(conversationId);
        this.schedulePump();
      });
    }
  }
}
