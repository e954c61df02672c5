/**
 * What /healthz and /metrics report. Counters come from the database (so they survive restarts and
 * count every process's work); the job duration histogram is observed here from finished jobs.
 */
import type { HealthReport } from './adapter.js';
import type { Bus } from './bus.js';
import type { Engines } from './engine/index.js';
import type { JobQueue } from './queue/types.js';
import type { Store } from './store/index.js';

const BUCKETS_S = [0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600];

export class Metrics {
  private readonly counts = new Array<number>(BUCKETS_S.length).fill(0);
  private sum = 0;
  private total = 0;
  private unsubscribe: () => void;
  private cliCheck?: { at: number; ok: boolean; message: string };

  constructor(private readonly store: Store, bus: Bus, private readonly queue: JobQueue, private readonly engines: Engines) {
    this.unsubscribe = bus.subscribe((event) => {
      if (event.type !== 'finished' || event.durationMs <= 0) return;
      const seconds = event.durationMs / 1000;
      this.sum += seconds;
      this.total++;
      BUCKETS_S.forEach((le, i) => {
        if (seconds <= le) this.counts[i]!++;
      });
    });
  }

  close(): void {
    this.unsubscribe();
  }

  async health(): Promise<HealthReport> {
    const checks: HealthReport['checks'] = {};
    try {
      this.store.db.ping();
      checks.database = { ok: true, message: 'ok' };
    } catch (err) {
      checks.database = { ok: false, message: (err as Error).message };
    }
    const queueProblem = await this.queue.ping();
    checks.queue = { ok: !queueProblem, message: queueProblem ?? `${this.queue.driver} ok` };
    // Starting the CLI costs ~15 ms; once a minute is plenty for a health probe.
    if (!this.cliCheck || Date.now() - this.cliCheck.at > 60_000) {
      const engine = this.engines.get('claude');
      const result = engine ? await engine.check(false) : { ok: false, message: 'claude engine missing' };
      this.cliCheck = { at: Date.now(), ...result };
    }
    checks.cli = { ok: this.cliCheck.ok, message: this.cliCheck.message };
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }

  async render(): Promise<string> {
    const db = this.store.db;
    const lines: string[] = [];
    const metric = (name: string, type: string, help: string, samples: [string, number][]) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const outcomes = db.sql<{ status: string; n: number }>("select status, count(*) n from messages where kind = 'prompt' and status in ('done','failed','cancelled') group by status");
    metric('cligate_jobs_total', 'counter', 'Finished jobs by outcome.', outcomes.map((r) => [`{outcome="${r.status}"}`, r.n]));
    const { queued, running } = this.store.messages.counts();
    metric('cligate_queue_depth', 'gauge', 'Messages waiting for a worker.', [['', queued]]);
    metric('cligate_jobs_running', 'gauge', 'Messages being answered.', [['', running]]);
    const stats = await this.queue.stats().catch(() => ({ waiting: 0, active: 0 }));
    metric('cligate_queue_conversations_waiting', 'gauge', 'Conversations waiting for a worker (queue backend).', [['', stats.waiting]]);
    lines.push('# HELP cligate_job_duration_seconds Time from a turn starting to its outcome, observed by this process.', '# TYPE cligate_job_duration_seconds histogram');
    BUCKETS_S.forEach((le, i) => lines.push(`cligate_job_duration_seconds_bucket{le="${le}"} ${this.counts[i]}`));
    lines.push(`cligate_job_duration_seconds_bucket{le="+Inf"} ${this.total}`, `cligate_job_duration_seconds_sum ${this.sum}`, `cligate_job_duration_seconds_count ${this.total}`);
    const cost = db.sql<{ c: number }>('select coalesce(sum(cost_usd), 0) c from sessions')[0]!.c;
    metric('cligate_cli_cost_usd_total', 'counter', 'Cost reported by the CLIs, all sessions.', [['', cost]]);
    const received = db.sql<{ platform: string; n: number }>('select platform, count(*) n from messages group by platform');
    metric('cligate_messages_received_total', 'counter', 'Messages accepted, per adapter.', received.map((r) => [`{adapter="${r.platform}"}`, r.n]));
    const sent = db.sql<{ platform: string; n: number }>("select c.platform, count(*) n from outbox o join conversations c on c.id = o.conversation_id where o.status = 'sent' group by c.platform");
    metric('cligate_replies_sent_total', 'counter', 'Reply messages delivered, per adapter.', sent.map((r) => [`{adapter="${r.platform}"}`, r.n]));
    const failed = db.sql<{ platform: string; n: number }>("select c.platform, count(*) n from outbox o join conversations c on c.id = o.conversation_id where o.status = 'failed' group by c.platform");
    metric('cligate_replies_failed_total', 'counter', 'Reply messages given up on, per adapter.', failed.map((r) => [`{adapter="${r.platform}"}`, r.n]));
    metric('cligate_outbox_pending', 'gauge', 'Reply messages waiting for delivery.', [['', this.store.outbox.pendingCount()]]);
    return lines.join('\n') + '\n';
  }
}
