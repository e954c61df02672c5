/**
 * The bus across processes: Redis pub/sub on one channel. Listeners in the publishing process hear
 * an event at once, without the round trip; other processes hear it through Redis, the events of one
 * tick in one message, in order.
 */
import crypto from 'node:crypto';
import type { Redis } from 'ioredis';
import { LocalBus, type Bus, type BusEvent } from '../bus.js';
import { redisConnection } from './bullmq.js';

export class RedisBus implements Bus {
  private readonly local = new LocalBus();
  private readonly origin = crypto.randomBytes(6).toString('hex');
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  /** Events of this tick, sent to Redis together when it ends (one message for a burst). */
  private unsent: BusEvent[] = [];

  constructor(redisUrl: string, prefix: string) {
    this.channel = `${prefix}:events`;
    this.pub = redisConnection(redisUrl);
    this.sub = redisConnection(redisUrl);
    void this.sub.subscribe(this.channel).catch(() => {});
    // "<origin> <JSON array of events>": this process's own come back too, and are dropped unread.
    const own = `${this.origin} `;
    this.sub.on('message', (_channel: string, raw: string) => {
      if (raw.startsWith(own)) return;
      let events: BusEvent[] | { o: string; e: BusEvent };
      try {
        events = JSON.parse(raw.slice(raw.indexOf(' ') + 1));
      } catch {
        return;
      }
      if (Array.isArray(events)) for (const event of events) this.local.publish(event);
      // {"o", "e"}: one event from a process of an earlier version, during a rolling upgrade.
      else if (events.o !== this.origin) this.local.publish(events.e);
    });
  }

  publish(event: BusEvent): void {
    this.local.publish(event);
    this.unsent.push(event);
    if (this.unsent.length === 1) queueMicrotask(() => this.send());
  }

  private send(): void {
    const events = this.unsent;
    this.unsent = [];
    void this.pub.publish(this.channel, `${this.origin} ${JSON.stringify(events)}`).catch(() => {});
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    if (this.unsent.length) this.send();
    await this.local.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
