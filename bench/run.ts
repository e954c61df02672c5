/**
 * `npm run bench`: what the gateway costs, measured against calling `claude -p` directly, in one
 * run, on this machine, against the Anthropic stand-in on loopback (so figures are ratios).
 *
 *   1. latency of a first message and of a follow-up, end to end through the HTTP adapter of a
 *      `cligate start` process, for both queue drivers; against `claude -p` and `claude -p --resume`
 *   2. time to first text
 *   3. ingest throughput with a trivial engine (bench/trivial-claude.sh), and with the real CLI at
 *      worker.concurrency 1, 2, 4
 *   4. footprint: gateway RSS idle and under load, RSS per live CLI
 *   5. approvals: from the CLI's request to the platform call showing it, and from a click to the
 *      decision reaching the CLI (Telegram, bench/approvals.ts)
 *   6. the sandbox's cost per CLI start and per live follow-up (bench/sandbox.ts)
 *   7. voice notes: decode and transcribe time of a recorded sentence per backend that runs here (bench/voice.ts)
 *
 *   7. the gateway's own ceiling, no CLI at all: an in-process echo engine, 10,000 messages in 1,000
 *      conversations through the HTTP adapter, both drivers (bench/ceiling.ts)
 *   8. terminal tabs: keystroke to echo over the WebSocket, fan-out of one busy tab to 20 viewers (bench/terminal.ts)
 *   9. voice notes: decode and transcribe time of a real clip per backend that runs here (bench/voice.ts)
 *  10. several hosts: answered/s with 1, 2, 4 `--role worker` processes behind one `--role gateway`,
 *      bullmq queue, echo engine, PostgreSQL against SQLite, and the store's round trips per message (bench/hosts.ts)
 *
 * BENCH_RUNS=n changes the number of samples (default 10). Redis is used when redis-server is on PATH.
 * BENCH_ONLY=part[,part] runs only those parts: approvals, latency (1, 2, footprint), throughput (3),
 * ceiling (7), sandbox (6), terminal (8), voice (9), hosts (10). `npm run bench -- --json FILE` also writes every figure to FILE.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sha256 } from '../adapters/http/keys.js';
import { bundledBinary, PROJECT_ROOT } from '../src/paths.js';
import { AnthropicFake } from '../test/support/anthropic-fake.js';
import { cliEnv, freePort, spawnCligate, testConfig, tmpDir, writeConfig, type CligateProcess } from '../test/support/harness.js';
import { RedisServer } from '../test/support/redis.js';
import { readSse } from '../test/support/sse.js';
import { buildStaticModel } from '../test/support/static-model.js';
import { approvalLatency, type ApprovalLatency } from './approvals.js';
import { sandboxCost, sandboxReport } from './sandbox.js';
import { terminalBench, terminalReport } from './terminal.js';
import { bareHttpFloor, CONVERSATIONS, gatewayCeiling, PER_CONVERSATION, type Ceiling } from './ceiling.js';
import { voiceBench, voiceReport } from './voice.js';
import { HOSTS_CONVERSATIONS, HOSTS_EACH, HOSTS_WORKERS, hostsRun, hostsTable, type HostsRow } from './hosts.js';
import { PostgresServer } from '../test/support/postgres.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
/** Time given a spare's replacement to start between a first message and the next (a claude start is 0.6–0.8 s). */
const SPARE_START_MS = 1500;
const KEY = 'cg_bench_key_000000000000000000000';
const PROMPT = 'bench: answer with a short paragraph';
const ANSWER = 'Here is a short paragraph of about two hundred characters, streamed in pieces the way the API sends them, so that time to first text and time to the final answer differ a little. Done.';

interface Sample {
  total: number;
  firstText: number;
}

const fake = new AnthropicFake({ chunkSize: 40 });
fake.respond = (req) => (req.prompt.startsWith('bench:') ? { text: ANSWER } : undefined);

/** Parts of the bench: BENCH_ONLY=latency,ceiling runs those alone (all by default). */
const PARTS = ['approvals', 'latency', 'throughput', 'ceiling', 'sandbox', 'terminal', 'voice', 'hosts'] as const;
type Part = (typeof PARTS)[number];
const ONLY = new Set((process.env.BENCH_ONLY ?? '').split(',').map((p) => p.trim()).filter(Boolean));
for (const part of ONLY) if (!PARTS.includes(part as Part)) throw new Error(`BENCH_ONLY: unknown part "${part}" (parts: ${PARTS.join(', ')})`);
const wanted = (part: Part) => ONLY.size === 0 || ONLY.has(part);
/** `npm run bench -- --json FILE`: every figure (and the raw samples) as JSON, to compare runs. */
const JSON_FILE = (() => {
  const i = process.argv.indexOf('--json');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();

type PerDriver = Record<string, { cold: Sample[]; warm: Sample[]; idleRss: number; cliRss: number[] }>;

async function main(): Promise<void> {
  if (process.argv.includes('--json') && !JSON_FILE) throw new Error('--json needs a file name: npm run bench -- --json results.json');
  await fake.start();
  const redis = await RedisServer.start().catch(() => undefined);
  const dir = tmpDir('cligate-bench-');
  const env = cliEnv(fake, dir);
  const machine = { claude: await claudeVersion(env), cpus: os.cpus().length, cpu: os.cpus()[0]?.model.trim(), node: process.version, runs: RUNS, loadAverage: os.loadavg() };
  log(`cligate bench: ${RUNS} samples per figure; claude ${machine.claude}; ${machine.cpus} × ${machine.cpu}; Node ${machine.node}; load average ${machine.loadAverage.map((l) => l.toFixed(1)).join(' ')}`);
  const drivers: ('sqlite' | 'bullmq')[] = redis ? ['sqlite', 'bullmq'] : ['sqlite'];
  const samples: Record<string, unknown> = {};
  const figures: Record<string, unknown> = {};
  const tables: string[] = [];

  if (wanted('approvals')) {
    log('approvals: request to buttons on Telegram, click to decision at the CLI');
    const approvals = await approvalLatency(fake, RUNS);
    samples.approvals = approvals;
    figures.approvals = { shown: stats(approvals.shown), decided: stats(approvals.decided) };
    tables.push(approvalsTable(approvals));
  }

  if (wanted('latency')) {
    log('direct: claude -p');
    const direct = await directRuns(env, dir, RUNS);
    log('direct: claude -p --resume');
    const directResume = await directRuns(env, dir, RUNS, true);
    log('direct: follow-ups in a bare long-lived claude process');
    const directLive = await directLiveRuns(env, dir, RUNS);
    const perDriver: PerDriver = {};
    for (const driver of drivers) {
      log(`gateway (${driver}): first messages and follow-ups`);
      perDriver[driver] = await gatewayLatency(driver, env, redis);
    }
    // Memory on (recall before each turn, Claude's memory tools over MCP), with the tests' model.
    log('gateway (sqlite, memory on): first messages and follow-ups');
    const model = buildStaticModel(path.join(tmpDir('cligate-bench-model-'), 'models'), 384);
    perDriver['sqlite + memory'] = await gatewayLatency('sqlite', env, undefined, {
      memory: { enabled: true, model: model.id, cache_dir: model.root, offline: true, dtype: 'fp32', auto: 'exchange', mcp: 'http' },
    });
    samples.latency = { direct, directResume, directLive, perDriver };
    figures.latency = latencyFigures(direct, directResume, directLive, perDriver);
    tables.push(latencyTable(direct, directResume, directLive, perDriver), footprintTable(perDriver));
  }

  if (wanted('throughput')) {
    log('throughput: trivial engine');
    const trivial: Record<string, { accept: number; dispatch: number; peakRss: number }> = {};
    for (const driver of drivers) trivial[driver] = await trivialThroughput(driver, env, redis);
    log('throughput: real CLI at concurrency 1, 2, 4');
    const real: Record<number, number> = {};
    for (const concurrency of [1, 2, 4]) real[concurrency] = await realThroughput(concurrency, env);
    figures.throughput = { trivial, real };
    tables.push(throughputTable(trivial, real));
  }

  if (wanted('ceiling')) {
    const ceiling: Record<string, Ceiling> = {};
    for (const driver of drivers) {
      log(`ceiling (${driver}): ${(CONVERSATIONS * PER_CONVERSATION).toLocaleString('en')} messages in ${CONVERSATIONS.toLocaleString('en')} conversations, in-process echo engine`);
      ceiling[driver] = await gatewayCeiling(driver, redis);
    }
    log('ceiling: the same client against a plain node:http server (the floor)');
    const floor = await bareHttpFloor();
    figures.ceiling = { ...ceiling, bareHttp: floor };
    tables.push(ceilingTable(ceiling, floor));
  }

  if (wanted('sandbox')) {
    log('sandbox: cost per CLI start and per live follow-up');
    const sandbox = await sandboxCost(env, dir, RUNS);
    figures.sandbox = sandbox;
    tables.push(sandboxReport(sandbox));
  }

  if (wanted('terminal')) {
    log('terminal: keystroke to echo, fan-out to 20 viewers');
    const terminal = await terminalBench(fake);
    figures.terminal = terminal;
    tables.push(terminalReport(terminal));
  }

  if (wanted('voice')) {
    log('voice: decode and transcribe per backend');
    const voice = await voiceBench(RUNS);
    figures.voice = voice;
    tables.push(voiceReport(voice));
  }

  if (wanted('hosts')) {
    if (!redis) {
      log('hosts: skipped: redis-server could not be started (worker processes need the bullmq queue)');
    } else {
      const postgres = await PostgresServer.start().catch((err: Error) => {
        log(`hosts: PostgreSQL could not be started, its rows are skipped (${err.message.split('\n')[0]})`);
        return undefined;
      });
      const rows: HostsRow[] = [];
      for (const store of postgres ? (['postgres', 'sqlite'] as const) : (['sqlite'] as const)) {
        for (const workers of HOSTS_WORKERS) {
          log(`hosts (${store} + redis): 1 gateway + ${workers} worker process${workers > 1 ? 'es' : ''}, ${HOSTS_CONVERSATIONS * HOSTS_EACH} messages in ${HOSTS_CONVERSATIONS} conversations, echo engine`);
          rows.push(await hostsRun(store, workers, redis, postgres));
        }
      }
      figures.hosts = rows;
      tables.push(hostsTable(rows));
      await postgres?.stop();
    }
  }

  console.log('\n' + tables.join('\n\n'));
  const results = { machine, parts: PARTS.filter(wanted), figures, samples };
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, null, 1));
  log(`raw samples: ${path.join(dir, 'results.json')}`);
  if (JSON_FILE) {
    fs.writeFileSync(path.resolve(process.env.INIT_CWD ?? process.cwd(), JSON_FILE), JSON.stringify(results, null, 1));
    log(`figures: ${JSON_FILE}`);
  }
  await redis?.stop();
  await fake.stop();
}

/** `claude -p` (or `--resume`) run by hand: spawn to exit, and to the first text line. */
async function directRuns(env: NodeJS.ProcessEnv, dir: string, runs: number, resume = false): Promise<Sample[]> {
  const cwd = fs.mkdtempSync(path.join(dir, 'direct-'));
  let session: string | undefined;
  if (resume) session = (await runClaude(env, cwd, ['-p', '--output-format', 'stream-json', '--verbose', '--', PROMPT])).sessionId;
  const samples: Sample[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const args = ['-p', '--output-format', 'stream-json', '--verbose', '--include-partial-messages', ...(session ? ['--resume', session] : []), '--', PROMPT];
    const run = await runClaude(env, cwd, args);
    if (i > 0) samples.push({ total: run.exit, firstText: run.firstText }); // the first run warms the disk cache
  }
  return samples;
}

function runClaude(env: NodeJS.ProcessEnv, cwd: string, args: string[]): Promise<{ exit: number; firstText: number; sessionId?: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let firstText = 0;
    let sessionId: string | undefined;
    let pending = '';
    const child = spawn(bundledBinary('claude'), args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        if (!firstText && line.includes('"text_delta"')) firstText = performance.now() - started;
        const m = /"session_id":"([^"]+)"/.exec(line);
        if (m) sessionId = m[1];
      }
    });
    child.on('error', reject);
    child.on('close', () => resolve({ exit: performance.now() - started, firstText, sessionId }));
  });
}

/** Follow-ups in a long-lived `claude --input-format stream-json` process, without any gateway. */
async function directLiveRuns(env: NodeJS.ProcessEnv, dir: string, runs: number): Promise<Sample[]> {
  const cwd = fs.mkdtempSync(path.join(dir, 'live-'));
  const child = spawn(bundledBinary('claude'), ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose', '--include-partial-messages'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdout.setEncoding('utf8');
  let pending = '';
  let onLine: (line: string) => void = () => {};
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) onLine(line);
  });
  const turn = () => new Promise<Sample>((resolve) => {
    const started = performance.now();
    let firstText = 0;
    onLine = (line) => {
      if (!firstText && line.includes('"text_delta"')) firstText = performance.now() - started;
      if (line.startsWith('{"type":"result"') || line.includes('"type":"result"')) resolve({ total: performance.now() - started, firstText });
    };
    child.stdin.write(JSON.stringify({ type: 'user', message: { role: 'user', content: PROMPT } }) + '\n');
  });
  await turn();
  const samples: Sample[] = [];
  for (let i = 0; i < runs * 2; i++) samples.push(await turn());
  child.stdin.end();
  await new Promise((r) => child.on('close', r));
  return samples;
}

interface GatewayHandle {
  url: string;
  processes: CligateProcess[];
  /** The process whose children are the CLIs. */
  worker: CligateProcess;
  stop(): Promise<void>;
}

async function startGateway(driver: 'sqlite' | 'bullmq', env: NodeJS.ProcessEnv, redis: RedisServer | undefined, extra: Record<string, unknown> = {}): Promise<GatewayHandle> {
  const dir = tmpDir('cligate-bench-gw-');
  const port = await freePort();
  const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
    gateway: { log_level: 'info' },
    worker: { concurrency: 4 },
    // Room for every conversation of the run plus the spare (one spare, the default): a full pool of
    // idle conversations starts no spare, and a first message then pays the CLI's start-up.
    live: { enabled: true, max_processes: RUNS + 4, spares: 1 },
    http: { enabled: true, port, api_keys: [{ user: 'bench', sha256: sha256(KEY) }] },
    ...(driver === 'bullmq' ? { queue: { driver: 'bullmq', redis_url: redis!.url, prefix: `bench${port}` } } : {}),
    ...extra,
  }));
  const started = (p: CligateProcess) => p.waitFor(() => p.stderr.some((l) => l.includes('cligate started')), 30_000, 'start');
  const processes: CligateProcess[] = [];
  if (driver === 'bullmq') {
    const worker = spawnCligate(['start', '--config', config, '--role', 'worker'], env);
    const gateway = spawnCligate(['start', '--config', config, '--role', 'gateway'], env);
    processes.push(gateway, worker);
  } else {
    processes.push(spawnCligate(['start', '--config', config], env));
  }
  await Promise.all(processes.map(started));
  return {
    url: `http://127.0.0.1:${port}`,
    processes,
    worker: processes.at(-1)!,
    stop: async () => {
      for (const p of processes) p.kill('SIGTERM');
      await Promise.all(processes.map((p) => p.exited));
    },
  };
}

async function send(url: string, conversation: string, text: string, onQueued?: () => void): Promise<Sample & { queued: number }> {
  const started = performance.now();
  let firstText = 0;
  let queued = 0;
  const res = await fetch(`${url}/v1/conversations/${conversation}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
  });
  const events = await readSse(res, (e) => {
    if (e.event === 'queued') {
      queued = performance.now() - started;
      onQueued?.();
    }
    if (e.event === 'text' && !firstText) firstText = performance.now() - started;
  });
  const done = events.at(-1);
  if (done?.event !== 'done' || done.data.status !== 'done') throw new Error(`bench message failed: ${JSON.stringify(done)}`);
  return { total: performance.now() - started, firstText, queued };
}

async function gatewayLatency(driver: 'sqlite' | 'bullmq', env: NodeJS.ProcessEnv, redis: RedisServer | undefined, extra: Record<string, unknown> = {}) {
  const gw = await startGateway(driver, env, redis, extra);
  try {
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rssMb(gw.processes[0]!.child.pid!, 'VmRSS');
    // The first new session also tells the spares which flags to start with (see live.ts).
    await send(gw.url, 'warmup', PROMPT);
    await new Promise((r) => setTimeout(r, SPARE_START_MS));
    const cold: Sample[] = [];
    const warm: Sample[] = [];
    const cliRss: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const conversation = `latency-${i}`;
      cold.push(await send(gw.url, conversation, PROMPT));
      // A spare's replacement starts now: let it, so neither figure is taken while a CLI starts beside it.
      await new Promise((r) => setTimeout(r, SPARE_START_MS));
      warm.push(await send(gw.url, conversation, PROMPT));
      warm.push(await send(gw.url, conversation, PROMPT));
      if (i === RUNS - 1) cliRss.push(...childrenRss(gw.worker.child.pid!));
    }
    return { cold, warm, idleRss, cliRss };
  } finally {
    await gw.stop();
  }
}

async function trivialThroughput(driver: 'sqlite' | 'bullmq', env: NodeJS.ProcessEnv, redis: RedisServer | undefined) {
  const gw = await startGateway(driver, env, redis, {
    worker: { concurrency: 16 },
    live: { enabled: false },
    engine: { claude: { path: path.join(PROJECT_ROOT, 'bench', 'trivial-claude.sh') } },
  });
  try {
    const conversations = 100;
    const each = 10;
    const started = performance.now();
    let lastQueued = 0;
    await Promise.all(Array.from({ length: conversations }, async (_, c) => {
      const runs: Promise<unknown>[] = [];
      for (let m = 0; m < each; m++) {
        let accepted: () => void = () => {};
        const queued = new Promise<void>((r) => (accepted = r));
        runs.push(send(gw.url, `t-${c}`, `m${m}`, () => {
          lastQueued = performance.now();
          accepted();
        }));
        await queued;
      }
      await Promise.all(runs);
    }));
    const seconds = (performance.now() - started) / 1000;
    const total = conversations * each;
    return {
      accept: total / ((lastQueued - started) / 1000),
      dispatch: total / seconds,
      peakRss: rssMb(gw.processes[0]!.child.pid!, 'VmHWM'),
    };
  } finally {
    await gw.stop();
  }
}

async function realThroughput(concurrency: number, env: NodeJS.ProcessEnv): Promise<number> {
  const gw = await startGateway('sqlite', env, undefined, { worker: { concurrency } });
  try {
    const conversations = 8;
    const each = 4;
    const started = performance.now();
    await Promise.all(Array.from({ length: conversations }, async (_, c) => {
      for (let m = 0; m < each; m++) await send(gw.url, `real-${c}`, PROMPT);
    }));
    return (conversations * each) / ((performance.now() - started) / 1000);
  } finally {
    await gw.stop();
  }
}

function rssMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)![1]) / 1024;
}

/**
 * RSS of each CLI the process started, counting everything under it: under bubblewrap the child is
 * bwrap, and the CLI runs two levels below.
 */
function childrenRss(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const under = (root: number): number[] => [...parentOf].filter(([, parent]) => parent === root).flatMap(([child]) => [child, ...under(child)]);
  return [...parentOf].filter(([, parent]) => parent === pid).map(([child]) => [child, ...under(child)].reduce((sum, p) => {
    try {
      return sum + rssMb(p, 'VmRSS');
    } catch {
      return sum;
    }
  }, 0));
}

async function claudeVersion(env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(bundledBinary('claude'), ['--version'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', () => resolve(out.trim().split(' ')[0] ?? '?'));
  });
}

const median = (xs: number[]) => quantile(xs, 0.5);
const p99 = (xs: number[]) => quantile(xs, 0.99);
function quantile(xs: number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
const ms = (x: number) => `${Math.round(x)} ms`;
const pair = (xs: number[]) => `${ms(median(xs))} / ${ms(p99(xs))}`;
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

function stats(xs: number[]): { median: number; p99: number } {
  return { median: median(xs), p99: p99(xs) };
}

function latencyFigures(direct: Sample[], directResume: Sample[], directLive: Sample[], perDriver: PerDriver) {
  const totals = (s: Sample[]) => s.map((x) => x.total);
  const firsts = (s: Sample[]) => s.map((x) => x.firstText);
  return {
    direct: { total: stats(totals(direct)), firstText: stats(firsts(direct)) },
    directResume: { total: stats(totals(directResume)), firstText: stats(firsts(directResume)) },
    directLive: { total: stats(totals(directLive)) },
    gateway: Object.fromEntries(Object.entries(perDriver).map(([d, r]) => [d, {
      first: { total: stats(totals(r.cold)), firstText: stats(firsts(r.cold)), ratio: median(totals(r.cold)) / median(totals(direct)) },
      followUp: { total: stats(totals(r.warm)), firstText: stats(firsts(r.warm)), ratio: median(totals(r.warm)) / median(totals(directResume)) },
      idleRssMb: r.idleRss,
      cliRssMb: median(r.cliRss),
    }])),
  };
}

function latencyTable(direct: Sample[], directResume: Sample[], directLive: Sample[], perDriver: PerDriver): string {
  const drivers = Object.keys(perDriver);
  const totals = (s: Sample[]) => s.map((x) => x.total);
  const firsts = (s: Sample[]) => s.map((x) => x.firstText);
  const lines: string[] = [];
  lines.push(`| latency, median / p99 | direct | ${drivers.map((d) => `${d} driver | ratio`).join(' | ')} |`);
  lines.push(`|---|---|${drivers.map(() => '---|---').join('|')}|`);
  const row = (label: string, base: number[], pick: (d: string) => number[]) =>
    lines.push(`| ${label} | ${pair(base)} | ${drivers.map((d) => `${pair(pick(d))} | ${ratio(median(pick(d)), median(base))}`).join(' | ')} |`);
  row('first message, whole answer (vs `claude -p`)', totals(direct), (d) => totals(perDriver[d]!.cold));
  row('follow-up, whole answer (vs `claude -p --resume`)', totals(directResume), (d) => totals(perDriver[d]!.warm));
  row('first message, first text (vs `claude -p`)', firsts(direct), (d) => firsts(perDriver[d]!.cold));
  row('follow-up, first text (vs `claude -p --resume`)', firsts(directResume), (d) => firsts(perDriver[d]!.warm));
  lines.push('');
  lines.push(`| gateway overhead, median | ${drivers.join(' | ')} |`);
  lines.push(`|---|${drivers.map(() => '---').join('|')}|`);
  lines.push(`| follow-up: gateway − the same turn in a bare live CLI (${ms(median(totals(directLive)))}) | ${drivers.map((d) => ms(median(totals(perDriver[d]!.warm)) - median(totals(directLive)))).join(' | ')} |`);
  lines.push(`| first message: gateway − \`claude -p\` to exit | ${drivers.map((d) => ms(median(totals(perDriver[d]!.cold)) - median(totals(direct)))).join(' | ')} |`);
  return lines.join('\n');
}

function throughputTable(trivial: Record<string, { accept: number; dispatch: number; peakRss: number }>, real: Record<number, number>): string {
  const queues = Object.keys(trivial);
  const lines: string[] = [];
  lines.push(`| throughput | ${queues.join(' | ')} |`);
  lines.push(`|---|${queues.map(() => '---').join('|')}|`);
  lines.push(`| accepted, trivial engine (1,000 messages, 100 conversations) | ${queues.map((d) => `${Math.round(trivial[d]!.accept)} msg/s`).join(' | ')} |`);
  lines.push(`| answered, trivial engine, concurrency 16 | ${queues.map((d) => `${Math.round(trivial[d]!.dispatch)} msg/s`).join(' | ')} |`);
  for (const c of [1, 2, 4]) lines.push(`| answered, real CLI, concurrency ${c} (8 conversations × 4) | ${real[c]!.toFixed(1)} msg/s${queues.length > 1 ? ' | –' : ''} |`);
  lines.push(`| gateway RSS peak, 1,000-message burst | ${queues.map((d) => `${Math.round(trivial[d]!.peakRss)} MB`).join(' | ')} |`);
  return lines.join('\n');
}

function footprintTable(perDriver: PerDriver): string {
  const drivers = Object.keys(perDriver);
  return [
    `| footprint | ${drivers.join(' | ')} |`,
    `|---|${drivers.map(() => '---').join('|')}|`,
    `| gateway RSS idle | ${drivers.map((d) => `${Math.round(perDriver[d]!.idleRss)} MB`).join(' | ')} |`,
    `| RSS per live claude process (median; a spare is one) | ${drivers.map((d) => `${Math.round(median(perDriver[d]!.cliRss))} MB`).join(' | ')} |`,
  ].join('\n');
}

function ceilingTable(ceiling: Record<string, Ceiling>, floor: { acceptedPerS: number; acceptedQueuedPerS: number }): string {
  const drivers = Object.keys(ceiling);
  const any = Object.values(ceiling)[0]!;
  const head = `${any.messages.toLocaleString('en')} messages, ${any.conversations.toLocaleString('en')} conversations`;
  const row = (label: string, f: (c: Ceiling) => string) => `| ${label} | ${drivers.map((d) => f(ceiling[d]!)).join(' | ')} |`;
  return [
    `| the gateway's ceiling: in-process echo engine, HTTP adapter, ${head} | ${drivers.join(' | ')} |`,
    `|---|${drivers.map(() => '---').join('|')}|`,
    row('accepted (200 clients at a time; the engine holds every answer, so all wait)', (c) => `${Math.round(c.acceptedPerS)} msg/s`),
    row(`the same client against a plain node:http server that only answers \`queued\`: ${Math.round(floor.acceptedPerS)} req/s; the gateway's share of that`, (c) => `${Math.round((c.acceptedPerS / floor.acceptedPerS) * 100)}%`),
    row('accepted with `?wait=queued` (202 once stored; each client keeps its connection)', (c) => `${Math.round(c.acceptedQueuedPerS)} msg/s`),
    row(`the same against the plain server (202 at once): ${Math.round(floor.acceptedQueuedPerS)} req/s; the gateway's share`, (c) => `${Math.round((c.acceptedQueuedPerS / floor.acceptedQueuedPerS) * 100)}%`),
    row('answered (from letting go to the last answer recorded, concurrency 16)', (c) => `${Math.round(c.answeredPerS)} msg/s`),
    row('longest event-loop stall, accepting / answering', (c) => `${ms(c.acceptStallMs)} / ${ms(c.answerStallMs)}`),
    row('gateway RSS with every message waiting / peak', (c) => `${Math.round(c.waitingRssMb)} MB / ${Math.round(c.peakRssMb)} MB`),
  ].join('\n');
}

function approvalsTable(a: ApprovalLatency): string {
  return [
    '| approvals (Telegram), median / p99 | |',
    '|---|---|',
    `| the CLI's request → the Bot API call showing its buttons | ${pair(a.shown)} |`,
    `| a button press → the decision written to the waiting CLI | ${pair(a.decided)} |`,
  ].join('\n');
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
