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
    this.pub = redisConnection(redisUrl);
    this.sub = redisConnection(redisUrl);
    void this.sub.subscribe(this.channel).catch(() => {});
    this.sub.on('message', (_channel: string, raw: string) => {
      let parsed: { o: string; e: BusEvent };
      try {
        parsed = JSON.parse(raw);
      } catch {
        return;
      }
      if (parsed.o !== this.origin) this.local.publish(parsed.e);
    });
  }

  publish(event: BusEvent): void {
    this.local.publish(event);
    void this.pub.publish(this.channel, JSON.stringify({ o: this.origin, e: event })).catch(() => {});
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
