/**
 * With several gateways, each chat platform is served by one of them at a time: the holder of the
 * platform's lease delivers its replies (drafts, cards, the outbox) and, for a platform that allows
 * only one connection per bot (Telegram's long polling, Discord's gateway, Matrix's sync), keeps that
 * connection. The others stand by, still taking what reaches them (webhooks, Slack's Socket Mode),
 * and one of them takes over within seconds when the holder dies. A lone gateway holds every
 * platform from the start. The leases are rows of the store's `leases` table (src/queue/lease.ts).
 */
import type { Logger } from './log.js';
import type { Platform } from './message.js';
import { Leases } from './queue/lease.js';
import type { Db } from './store/db.js';

/** How long a dead holder keeps a platform (a holder on this machine that died is replaced at once). */
const LEASE_MS = 10_000;
/** How often a standing-by gateway tries to take a platform over. */
const RETRY_MS = 2_000;

interface Claim {
  gained: () => Promise<void>;
  lost: () => Promise<void>;
}

export class PlatformLeases {
  private readonly leases: Leases;
  private readonly claims = new Map<Platform, Claim>();
  private readonly held = new Set<Platform>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(db: Db, private readonly log: Logger, leaseMs = LEASE_MS, private readonly retryMs = RETRY_MS) {
    this.leases = new Leases(db, leaseMs);
    const renew = setInterval(() => this.renew(), Math.max(200, leaseMs / 3));
    const retry = setInterval(() => void this.retry(), retryMs);
    renew.unref();
    retry.unref();
    this.timers.push(renew, retry);
  }

  holds(platform: Platform): boolean {
    return this.held.has(platform);
  }

  /**
   * Serves `platform` from this gateway as soon as it can: now, if nobody else does, else when the
   * holder goes. `gained` runs once it holds it; `lost` if a stall let another gateway take it.
   */
  async claim(platform: Platform, gained: () => Promise<void>, lost: () => Promise<void>): Promise<void> {
    this.claims.set(platform, { gained, lost });
    await this.tryClaim(platform);
  }

  private async retry(): Promise<void> {
    for (const platform of this.claims.keys()) if (!this.held.has(platform)) await this.tryClaim(platform);
  }

  private async tryClaim(platform: Platform): Promise<void> {
    if (this.stopped || this.held.has(platform)) return;
    let taken = false;
    try {
      taken = this.leases.claim(keyOf(platform));
    } catch (err) {
      this.log.warn({ err, platform }, 'could not claim the platform (the database is unreachable?); trying again');
    }
    if (!taken) return;
    this.held.add(platform);
    this.log.info({ platform }, 'serving this platform from this gateway');
    try {
      await this.claims.get(platform)!.gained();
    } catch (err) {
      this.log.error({ err, platform }, 'starting the platform failed');
    }
  }

  private renew(): void {
    if (this.stopped || !this.held.size) return;
    for (const platform of this.held) {
      try {
        // One by one: a renewal that finds the lease gone says which platform another gateway took.
        if (this.leases.renew([keyOf(platform)]) === 0) continue;
      } catch (err) {
        this.log.warn({ err, platform }, 'could not renew the platform lease; trying again');
        continue;
      }
      // It does not claim the platform again: its connection may not restart cleanly in this process.
      this.held.delete(platform);
      const claim = this.claims.get(platform)!;
      this.claims.delete(platform);
      this.log.error({ platform }, 'this gateway stalled past its platform lease; another gateway serves the platform now (restart this one to stand by again)');
      void claim.lost().catch((err) => this.log.warn({ err, platform }, 'stopping the platform failed'));
    }
  }

  /** Lets the platforms go, so a standing-by gateway takes them at once. */
  release(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const platform of this.held) {
      try {
        this.leases.release(keyOf(platform));
      } catch {
        /* it expires on its own */
      }
    }
    this.held.clear();
  }
}

function keyOf(platform: Platform): string {
  return `platform:${platform}`;
}
