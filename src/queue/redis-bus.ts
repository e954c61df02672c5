/**
 * The bus across processes: Redis pub/sub on one channel. Listeners in the publishing process hear
 * an event at once, without the round trip; other processes hear it through Redis.
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

  constructor(redisUrl: string, prefix: string) {
    this.channel = `${prefix}:events`;
    // Events come in bursts (a turn's text deltas, a burst of messages): one write per tick, not per event.
    this.pub = redisConnection(redisUrl, { autoPipelining: true });
    this.sub = redisConnection(redisUrl);
    void this.sub.subscribe(this.channel).catch(() => {});
    // "<origin> <event JSON>": this process's own events come back too, and are dropped unread.
    const own = `${this.origin} `;
    this.sub.on('message', (_channel: string, raw: string) => {
      if (raw.startsWith(own)) return;
      let event: BusEvent | { o: string; e: BusEvent };
      try {
        event = JSON.parse(raw.slice(raw.indexOf(' ') + 1));
      } catch {
        return;
      }
      // {"o", "e"}: a process of an earlier version, during a rolling upgrade.
      this.local.publish('e' in event && 'o' in event ? event.e : event);
    });
  }

  publish(event: BusEvent): void {
    this.local.publish(event);
    void this.pub.publish(this.channel, `${this.origin} ${JSON.stringify(event)}`).catch(() => {});
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  async close(): Promise<void> {
    await this.local.close();
    this.sub.disconnect();
    this.pub.disconnect();
  }
}
