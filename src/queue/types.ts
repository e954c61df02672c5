/**
 * The job queue carries "this conversation has messages waiting" to the worker pool. The messages
 * themselves, and their order, live in the database inbox; a job drains one conversation, message by
 * message, holding the conversation's lease, so one conversation is strictly sequential while
 * different conversations run in parallel up to the concurrency.
 */
import { setMaxListeners } from 'node:events';

export interface DrainSignal {
  /** Set when the process is shutting down: finish the current turn, take no next one. */
  readonly stopping: boolean;
  /** Aborted when the shutdown grace period is over: stop the running turn, leave it to be run again. */
  readonly hardStop: AbortSignal;
}

/** Drains one conversation; the queue holds its lease meanwhile. */
export type Drain = (conversationId: string, signal: DrainSignal) => Promise<void>;

export interface QueueStats {
  /** Conversations waiting for a worker. */
  waiting: number;
  /** Conversations being drained by this process. */
  active: number;
}

export interface WorkerOptions {
  /**
   * Whether this process keeps the conversation's CLI running between turns (a live process): with
   * workers in several processes, its next messages are sent to this one while it does.
   */
  keepsWarm?: (conversationId: string) => boolean;
}

export interface JobQueue {
  readonly driver: 'sqlite' | 'bullmq';
  /** Makes sure a worker will drain this conversation. Cheap and idempotent. */
  wake(conversationId: string): Promise<void>;
  startWorkers(drain: Drain, concurrency: number, options?: WorkerOptions): Promise<void>;
  /** Stops taking work; waits up to `graceMs` for running drains, then hard-stops them. */
  stopWorkers(graceMs: number): Promise<void>;
  stats(): Promise<QueueStats>;
  /** Checks the queue's backend (Redis) answers. */
  ping(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** Shared bookkeeping of drains running in this process. */
export class ActiveDrains {
  readonly running = new Map<string, Promise<void>>();
  readonly signal: DrainSignal;
  private stopping = false;
  private readonly hard = new AbortController();

  constructor() {
    // Every running drain listens for the hard stop: more than the default 10 is expected, not a leak.
    setMaxListeners(0, this.hard.signal);
    const state = this;
    this.signal = {
      get stopping() {
        return state.stopping;
      },
      hardStop: this.hard.signal,
    };
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Registers a running drain; `after` runs once it is no longer counted as running. */
  track(conversationId: string, work: Promise<void>, after?: () => void): Promise<void> {
    const tracked = work.finally(() => {
      this.running.delete(conversationId);
      after?.();
    });
    this.running.set(conversationId, tracked);
    return tracked;
  }

  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    const all = Promise.allSettled([...this.running.values()]);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => (timer = setTimeout(() => resolve('expired'), graceMs)));
    if ((await Promise.race([all, expired])) === 'expired') {
      this.hard.abort();
      await all;
    }
    clearTimeout(timer);
  }
}
