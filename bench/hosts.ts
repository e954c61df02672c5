/**
 * Several hosts: answered messages per second with 1, 2 and 4 worker processes (`--role worker`)
 * behind one `--role gateway` process that takes the messages over HTTP, the queue on Redis (bullmq),
 * the store on PostgreSQL against SQLite (one file every process opens). The engine is the bench's
 * in-process echo engine (bench/echo-engine.ts), so no CLI is in the measurement; each process is
 * bench/host.ts, which runs what `cligate start --role R` runs and counts the store's statements.
 *
 * Per configuration: a fresh database (PostgreSQL) or data folder (SQLite) and Redis prefix; a
 * warm-up message in each of CONVERSATIONS conversations (not counted); then EACH more per
 * conversation, every conversation a client that sends its next message when the last one is done
 * (the SSE `done` event at the gateway): answered/s from the first send to the last `done`.
 *
 * Round trips per message: the store's statements over the measured messages, counted in every
 * process (bench/host.ts wraps the drivers' query). On PostgreSQL each statement is one round trip
 * to the server (a transaction's begin, advisory lock and commit included). Transactions are
 * counted too, and checked against PostgreSQL's own count (pg_stat_database xact_commit +
 * xact_rollback of the configuration's database, read after every process has exited, so that the
 * servers' backends have flushed their statistics) over the processes' whole lives.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sha256 } from '../adapters/http/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { freePort, testConfig, tmpDir, writeConfig } from '../test/support/harness.js';
import type { PostgresServer } from '../test/support/postgres.js';
import type { RedisServer } from '../test/support/redis.js';
import { readSse } from '../test/support/sse.js';
import type { HostReport, StoreCounts } from './host.js';
import { replyFrom } from './child-reply.js';

const KEY = 'cg_bench_key_000000000000000000000';
export const HOSTS_CONVERSATIONS = Number(process.env.BENCH_HOSTS_CONVERSATIONS ?? 30);
export const HOSTS_EACH = Number(process.env.BENCH_HOSTS_EACH ?? 10);
export const HOSTS_WORKERS = [1, 2, 4];
/** Turns at a time in each worker process. */
const CONCURRENCY = 8;

export interface HostsRow {
  store: 'postgres' | 'sqlite';
  workers: number;
  messages: number;
  answeredPerS: number;
  /** Statements per answered message, all processes together (PostgreSQL: round trips). */
  statementsPerMessage: number;
  transactionsPerMessage: number;
  /** Of these, the gateway process's share. */
  gatewayStatementsPerMessage: number;
  /** Over the processes' whole lives (start-up, warm-up, shutdown): counted by the bench, and by PostgreSQL. */
  lifetimeTransactions: number;
  serverTransactions?: number;
}

export async function hostsRun(store: 'postgres' | 'sqlite', workers: number, redis: RedisServer, postgres: PostgresServer | undefined): Promise<HostsRow> {
  const dir = tmpDir('cligate-bench-hosts-');
  const port = await freePort();
  const database = `hosts_${workers}_${port}`;
  const url = store === 'postgres' ? await postgres!.createDatabase(database) : '';
  const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
    // Two shared cores: a loaded host may well miss a 3 s lease renewal.
    worker: { concurrency: CONCURRENCY, lease_s: 15 },
    http: { enabled: true, port, api_keys: [{ user: 'bench', sha256: sha256(KEY) }] },
    queue: { driver: 'bullmq', redis_url: redis.url, prefix: `hosts${port}` },
    ...(store === 'postgres' ? { store: { driver: 'postgres', url, path: '' } } : {}),
  }));
  const processes: Host[] = [];
  try {
    // The gateway first: it migrates the store; the workers then start side by side.
    const gateway = await Host.start(config, 'gateway');
    processes.push(gateway);
    processes.push(...(await Promise.all(Array.from({ length: workers }, () => Host.start(config, 'worker')))));
    const base = `http://127.0.0.1:${port}`;
    const conversations = Array.from({ length: HOSTS_CONVERSATIONS }, (_, c) => `hosts-${c}`);
    await Promise.all(conversations.map((c) => send(base, c, 'warm-up')));
    await new Promise((r) => setTimeout(r, 300));
    await Promise.all(processes.map((p) => p.command('reset')));
    const started = performance.now();
    await Promise.all(conversations.map(async (c) => {
      for (let m = 0; m < HOSTS_EACH; m++) await send(base, c, `m${m}`);
    }));
    const seconds = (performance.now() - started) / 1000;
    // What follows a `done` (the reply's delivery marked, the lease let go) belongs to the message too.
    await new Promise((r) => setTimeout(r, 300));
    const reports = await Promise.all(processes.map((p) => p.report()));
    const messages = HOSTS_CONVERSATIONS * HOSTS_EACH;
    const sum = (pick: (c: StoreCounts) => number, of = reports) => of.reduce((s, r) => s + pick(r.sinceReset), 0);
    const finals = await Promise.all(processes.splice(0).map((p) => p.stop()));
    const serverTransactions = store === 'postgres'
      ? Number(await postgres!.psql(`select xact_commit + xact_rollback from pg_stat_database where datname = '${database}'`))
      : undefined;
    return {
      store,
      workers,
      messages,
      answeredPerS: messages / seconds,
      statementsPerMessage: sum((c) => c.statements) / messages,
      transactionsPerMessage: sum((c) => c.transactions) / messages,
      gatewayStatementsPerMessage: sum((c) => c.statements, reports.slice(0, 1)) / messages,
      lifetimeTransactions: finals.reduce((s, f) => s + f.transactions, 0),
      serverTransactions,
    };
  } finally {
    await Promise.all(processes.map((p) => p.stop().catch(() => undefined)));
  }
}

class Host {
  private constructor(private readonly child: ChildProcess) {}

  static async start(config: string, role: 'gateway' | 'worker'): Promise<Host> {
    const child = fork(path.join(PROJECT_ROOT, 'dist', 'bench', 'host.js'), [config, role], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const host = new Host(child);
    await host.reply('ready');
    return host;
  }

  async command(cmd: string): Promise<void> {
    const done = this.reply('ok');
    this.child.send({ cmd });
    await done;
  }

  async report(): Promise<HostReport> {
    const done = this.reply<HostReport>('ok');
    this.child.send({ cmd: 'report' });
    return done;
  }

  /** The graceful stop; the counts over its whole life, shutdown included. */
  async stop(): Promise<StoreCounts> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error('host already exited');
    const done = this.reply<{ sinceStart: StoreCounts }>('stopped');
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ cmd: 'stop' });
    const { sinceStart } = await done;
    await exited;
    return sinceStart;
  }

  private reply<T>(cmd: string): Promise<T> {
    return replyFrom<T>(this.child, cmd, 'bench host');
  }
}

/** Sends one message and waits for its answer (the `done` event). */
async function send(url: string, conversation: string, text: string): Promise<void> {
  const res = await fetch(`${url}/v1/conversations/${conversation}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
  });
  const events = await readSse(res, undefined, (e) => e.event === 'done' || e.event === 'error');
  const done = events.at(-1);
  if (done?.event !== 'done' || done.data.status !== 'done') throw new Error(`hosts message failed: ${JSON.stringify(done)}`);
}

export function hostsTable(rows: HostsRow[]): string {
  const lines = [
    `| several hosts: 1 gateway + N worker processes, bullmq queue, echo engine, ${rows[0]?.messages ?? 0} messages in ${HOSTS_CONVERSATIONS} conversations | workers | answered/s | round trips (statements) per message | of which the gateway's | transactions per message |`,
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(`| ${r.store === 'postgres' ? 'PostgreSQL' : 'SQLite (statements, no round trips)'} | ${r.workers} | ${Math.round(r.answeredPerS)} | ${r.statementsPerMessage.toFixed(1)} | ${r.gatewayStatementsPerMessage.toFixed(1)} | ${r.transactionsPerMessage.toFixed(1)} |`);
  }
  const checked = rows.filter((r) => r.serverTransactions !== undefined);
  if (checked.length) {
    lines.push('');
    lines.push(`PostgreSQL's own count of transactions over each configuration (pg_stat_database, start-up to exit) against the bench's: ${checked.map((r) => `${r.workers} worker${r.workers > 1 ? 's' : ''} ${r.serverTransactions} / ${r.lifetimeTransactions}`).join('; ')}.`);
  }
  return lines.join('\n');
}
