/**
 * The scale-out queue driver: BullMQ on Redis, so worker processes (`cligate start --role worker`)
 * share the work. Open-source BullMQ has no per-group ordering, so a job does not carry a message:
 * it says "drain conversation X", with jobId = X, so adding it while one waits is a no-op. The
 * messages and their order stay in the SQLite inbox; the conversation's lease keeps two workers from
 * draining it at once even if Redis forgets a job.
 *
 * A wake can be lost (Redis restarted, or a job finishing just as a message arrives), so after each
 * job the worker looks at the inbox again, and a sweep re-wakes every conversation with waiting
 * messages every few seconds.
 *
 * A worker that keeps a conversation's CLI running between turns (a live process) claims the
 * conversation in Redis (`<prefix>:warm:<id>` = its own queue, with a TTL it renews while the process
 * lives): its next messages go to that worker's own queue rather than the shared one, so they find
 * their CLI warm. When the worker dies the claim expires and any worker takes the conversation,
 * resuming its session from the shared session files.
 */
import crypto from 'node:crypto';
import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { redactUrl } from '../log.js';
import { Leases } from './lease.js';
import { ActiveDrains, type Drain, type JobQueue, type QueueStats, type WorkerOptions } from './types.js';

export interface BullQueueOptions {
  store: Store;
  redisUrl: string;
  prefix: string;
  leaseMs: number;
  log: Logger;
  /** How often every conversation with waiting messages is woken again. */
  sweepMs?: number;
}

interface DrainJob {
  conversationId: string;
}

export function redisConnection(url: string): Redis {
  // maxRetriesPerRequest: null is what BullMQ needs; commands wait for a reconnect instead of failing.
  const redis = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
  redis.on('error', () => {
    /* reconnects on its own; errors are reported by ping() and the sweep */
  });
  return redis;
}

function jobIdOf(conversationId: string): string {
  // BullMQ ids may not contain ":" nor be integers.
  return 'c-' + Buffer.from(conversationId).toString('base64url');
}

export class BullQueue implements JobQueue {
  readonly driver = 'bullmq' as const;
  readonly leases: Leases;
  private readonly connection: Redis;
  private readonly queue: Queue<DrainJob>;
  private readonly queueName: string;
  private workers: Worker<DrainJob>[] = [];
  private readonly drains = new ActiveDrains();
  private timers: NodeJS.Timeout[] = [];
  /** This process's own queue: the conversations whose CLI it keeps warm. */
  private readonly ownQueueName = `conversations-w${crypto.randomBytes(6).toString('hex')}`;
  /** Queues of other workers, opened as messages are sent to them. */
  private readonly queues = new Map<string, Queue<DrainJob>>();
  private readonly warm = new Set<string>();
  private keepsWarm?: (conversationId: string) => boolean;

  constructor(private readonly options: BullQueueOptions) {
    this.connection = redisConnection(options.redisUrl);
    this.queueName = 'conversations';
    this.queue = new Queue<DrainJob>(this.queueName, { connection: this.connection, prefix: options.prefix });
    this.queue.on('error', (err) => options.log.debug({ err: err.message }, 'bullmq queue error'));
    this.leases = new Leases(options.store.db, options.leaseMs);
    // Gateways sweep too: a wake lost while Redis was away is made good here.
    const sweep = setInterval(() => void this.sweep(), options.sweepMs ?? 3000);
    sweep.unref();
    this.timers.push(sweep);
  }

  async wake(conversationId: string): Promise<void> {
    const warmIn = await this.connection.get(this.warmKey(conversationId));
    await this.queueNamed(warmIn ?? this.queueName).add('drain', { conversationId }, {
      jobId: jobIdOf(conversationId),
      removeOnComplete: true,
      removeOnFail: true,
    });
  }

  async startWorkers(drain: Drain, concurrency: number, options: WorkerOptions = {}): Promise<void> {
    this.keepsWarm = options.keepsWarm;
    const freed = this.leases.reclaimDead();
    if (freed) this.options.log.info({ freed }, 'took over conversations of a crashed worker');
    const names = this.keepsWarm ? [this.queueName, this.ownQueueName] : [this.queueName];
    this.workers = names.map((name) => {
      const worker = new Worker<DrainJob>(name, (job) => this.process(job, drain), {
        connection: this.connection,
        prefix: this.options.prefix,
        concurrency,
        lockDuration: this.options.leaseMs,
        stalledInterval: Math.max(1000, Math.floor(this.options.leaseMs / 2)),
        // Crashes are counted per message in the inbox (worker.max_attempts), not per drain job.
        maxStalledCount: 1_000_000,
      });
      worker.on('error', (err) => this.options.log.debug({ err: err.message }, 'bullmq worker error'));
      const recheck = (job: Job<DrainJob> | undefined) => {
        if (job && this.options.store.messages.next(job.data.conversationId)) void this.safeWake(job.data.conversationId);
      };
      worker.on('completed', recheck);
      worker.on('failed', recheck);
      return worker;
    });
    const renew = this.leases.keepRenewing(() => this.drains.running.keys(), this.options.log);
    const warm = setInterval(() => void this.renewWarm(), Math.max(200, this.options.leaseMs / 3));
    warm.unref();
    this.timers.push(renew, warm);
    await Promise.all(this.workers.map((w) => w.waitUntilReady()));
    void this.sweep();
  }

  private warmKey(conversationId: string): string {
    return `${this.options.prefix}:warm:${conversationId}`;
  }

  private queueNamed(name: string): Queue<DrainJob> {
    if (name === this.queueName) return this.queue;
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue<DrainJob>(name, { connection: this.connection, prefix: this.options.prefix });
      queue.on('error', (err) => this.options.log.debug({ err: err.message }, 'bullmq queue error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** After a drain: claims the conversation while its CLI stays warm here. */
  private async claimWarm(conversationId: string): Promise<void> {
    if (!this.keepsWarm?.(conversationId)) return;
    this.warm.add(conversationId);
    await this.connection.set(this.warmKey(conversationId), this.ownQueueName, 'PX', this.options.leaseMs);
  }

  /** Renews the claims of conversations still warm here; drops the others'. */
  private async renewWarm(): Promise<void> {
    try {
      for (const conversationId of [...this.warm]) {
        const key = this.warmKey(conversationId);
        if (this.keepsWarm?.(conversationId) && !this.drains.isStopping) {
          await this.connection.set(key, this.ownQueueName, 'PX', this.options.leaseMs);
          continue;
        }
        this.warm.delete(conversationId);
        if ((await this.connection.get(key)) === this.ownQueueName) await this.connection.del(key);
      }
    } catch (err) {
      this.options.log.debug({ err: (err as Error).message }, 'renewing warm conversations failed');
    }
  }

  private async process(job: Job<DrainJob>, drain: Drain): Promise<void> {
    const { conversationId } = job.data;
    if (this.drains.isStopping) return;
    // Another worker is on it (or a dead one still holds it until its lease expires; the sweep comes back).
    if (!this.leases.claim(conversationId)) return;
    const work = drain(conversationId, this.drains.signal).catch((err) => {
      this.options.log.error({ err, conversationId }, 'drain failed');
    }).then(() => this.claimWarm(conversationId)).catch((err) => {
      this.options.log.debug({ err: (err as Error).message, conversationId }, 'claiming a warm conversation failed');
    });
    await this.drains.track(conversationId, work, () => this.leases.release(conversationId));
  }

  private async sweep(): Promise<void> {
    if (this.drains.isStopping) return;
    try {
      for (const conversationId of this.options.store.messages.pendingConversations()) {
        if (!this.drains.running.has(conversationId)) await this.wake(conversationId);
      }
    } catch (err) {
      this.options.log.debug({ err: (err as Error).message }, 'queue sweep failed');
    }
  }

  private async safeWake(conversationId: string): Promise<void> {
    try {
      await this.wake(conversationId);
    } catch (err) {
      this.options.log.debug({ err: (err as Error).message, conversationId }, 'wake failed; the sweep will retry');
    }
  }

  async stopWorkers(graceMs: number): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    // Its conversations go back to every worker at once.
    await Promise.all([...this.warm].map((c) => this.connection.del(this.warmKey(c)).catch(() => 0)));
    this.warm.clear();
    const closing = Promise.all(this.workers.map((w) => w.close()));
    const keepAlive = this.leases.keepRenewing(() => this.drains.running.keys(), this.options.log);
    await this.drains.stop(graceMs);
    clearInterval(keepAlive);
    await closing;
  }

  async stats(): Promise<QueueStats> {
    const counts = await this.queue.getJobCounts('waiting', 'delayed', 'prioritized');
    return { waiting: (counts.waiting ?? 0) + (counts.delayed ?? 0) + (counts.prioritized ?? 0), active: this.drains.running.size };
  }

  async ping(): Promise<string | undefined> {
    try {
      const answer = await Promise.race([
        this.connection.ping(),
        new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer in 2 s')), 2000).unref()),
      ]);
      return answer === 'PONG' ? undefined : `unexpected answer ${answer}`;
    } catch (err) {
      return `Redis at ${redactUrl(this.options.redisUrl)} does not answer: ${(err as Error).message}`;
    }
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await Promise.all(this.workers.map((w) => w.close().catch(() => {})));
    await Promise.all([this.queue, ...this.queues.values()].map((q) => q.close().catch(() => {})));
    this.connection.disconnect();
  }
}
