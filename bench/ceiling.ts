/**
 * The gateway's ceiling without a CLI (bench/echo-gateway.ts runs it): 10,000 messages in 1,000
 * conversations through the HTTP adapter, for one queue driver.
 *   1. accepted/s: the engine holds every answer, so all 10,000 wait; 200 clients at a time each send
 *      a message and leave at its `queued` event; from the first request to the last `queued`; the
 *      event loop's longest stall and the RSS with them all waiting;
 *   2. answered/s: the engine lets go; from then to the last `finished` event (the outcome and the
 *      reply recorded), concurrency 16; the longest stall meanwhile;
 *   3. accepted/s again, sent with `?wait=queued` (a 202 once stored, the connection kept for the
 *      client's next message), the engine holding again; then all are answered.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sha256 } from '../adapters/http/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { freePort, testConfig, tmpDir, writeConfig } from '../test/support/harness.js';
import type { RedisServer } from '../test/support/redis.js';
import { readSse } from '../test/support/sse.js';
import { replyFrom } from './child-reply.js';

const KEY = 'cg_bench_key_000000000000000000000';
export const CONVERSATIONS = Number(process.env.BENCH_CEILING_CONVERSATIONS ?? 1000);
export const PER_CONVERSATION = Number(process.env.BENCH_CEILING_EACH ?? 10);
const CLIENTS = Number(process.env.BENCH_CEILING_CLIENTS ?? 200);

interface Report {
  maxStallMs: number;
  p99StallMs: number;
  rssMb: number;
  peakRssMb: number;
  answered: number;
  finished: number;
  answerMs: number;
}

export interface Ceiling {
  messages: number;
  conversations: number;
  /** Requests in flight at a time. */
  clients: number;
  acceptedPerS: number;
  /** The same burst sent with `?wait=queued` (202 at once, the connection kept): no stream per message. */
  acceptedQueuedPerS: number;
  answeredPerS: number;
  /** Longest event-loop stall while the messages were accepted, and while they were answered. */
  acceptStallMs: number;
  answerStallMs: number;
  /** Gateway RSS with every message waiting, and its peak over the whole burst. */
  waitingRssMb: number;
  peakRssMb: number;
}

/**
 * The same client and burst against a plain node:http server that only answers `queued`
 * (bench/bare-http.ts): what Node's HTTP and this client manage here with no gateway behind them.
 */
export async function bareHttpFloor(): Promise<{ acceptedPerS: number; acceptedQueuedPerS: number }> {
  const child = fork(path.join(PROJECT_ROOT, 'dist', 'bench', 'bare-http.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { url } = await reply<{ url: string }>(child, 'ready');
    const total = CONVERSATIONS * PER_CONVERSATION;
    return {
      acceptedPerS: total / (await burst(url, total, 'stream') / 1000),
      acceptedQueuedPerS: total / (await burst(url, total, 'queued') / 1000),
    };
  } finally {
    child.send({ cmd: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

/**
 * Sends `total` messages, CLIENTS at a time, each conversation's in order; each request is followed
 * until its `queued` event, then closed (the message stays queued). Returns the milliseconds from
 * the first request to the last `queued`.
 */
async function burst(url: string, total: number, mode: 'stream' | 'queued', round = 0): Promise<number> {
  const order = Array.from({ length: total }, (_, i) => ({ conversation: `ceiling-${i % CONVERSATIONS}`, text: `r${round}m${Math.floor(i / CONVERSATIONS)}` }));
  let next = 0;
  let lastQueued = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: CLIENTS }, async () => {
    while (next < order.length) {
      const { conversation, text } = order[next++]!;
      await (mode === 'stream' ? send(url, conversation, text) : sendQueued(url, conversation, text));
      lastQueued = performance.now();
    }
  }));
  return lastQueued - started;
}

export async function gatewayCeiling(driver: 'sqlite' | 'bullmq', redis: RedisServer | undefined): Promise<Ceiling> {
  const dir = tmpDir('cligate-bench-ceiling-');
  const port = await freePort();
  const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
    worker: { concurrency: 16 },
    http: { enabled: true, port, api_keys: [{ user: 'bench', sha256: sha256(KEY) }] },
    ...(driver === 'bullmq' ? { queue: { driver: 'bullmq', redis_url: redis!.url, prefix: `ceiling${port}` } } : {}),
  }));
  const child = fork(path.join(PROJECT_ROOT, 'dist', 'bench', 'echo-gateway.js'), [config], { execArgv: process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROF] : [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const { url } = await reply<{ url: string }>(child, 'ready');
    await command(child, 'hold');
    await command(child, 'reset');
    const total = CONVERSATIONS * PER_CONVERSATION;
    const acceptMs = await burst(url, total, 'stream');
    const waiting = await report(child);
    await command(child, 'reset');
    await command(child, 'release');
    let answering = await report(child);
    const deadline = Date.now() + 600_000;
    while (answering.finished < total) {
      if (Date.now() > deadline) throw new Error(`only ${answering.finished} of ${total} answered in 10 minutes`);
      await new Promise((r) => setTimeout(r, 200));
      answering = await report(child);
    }
    // Again with `?wait=queued`: the same burst, each request answered 202 once stored, on kept connections.
    await command(child, 'hold');
    const acceptQueuedMs = await burst(url, total, 'queued', 1);
    await command(child, 'release');
    for (let all = await report(child); all.finished < 2 * total; all = await report(child)) {
      if (Date.now() > deadline) throw new Error(`only ${all.finished} of ${2 * total} answered in 10 minutes`);
      await new Promise((r) => setTimeout(r, 200));
    }
    return {
      messages: total,
      conversations: CONVERSATIONS,
      clients: CLIENTS,
      acceptedPerS: total / (acceptMs / 1000),
      acceptedQueuedPerS: total / (acceptQueuedMs / 1000),
      answeredPerS: total / (answering.answerMs / 1000),
      acceptStallMs: waiting.maxStallMs,
      answerStallMs: answering.maxStallMs,
      waitingRssMb: waiting.rssMb,
      peakRssMb: Math.max(waiting.peakRssMb, answering.peakRssMb),
    };
  } finally {
    child.send({ cmd: 'stop' });
    await new Promise((r) => child.once('exit', r));
  }
}

/** Sends one message and returns once it is queued (the stream is closed there; the message stays queued). */
async function send(url: string, conversation: string, text: string): Promise<void> {
  const res = await fetch(`${url}/v1/conversations/${conversation}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
  });
  const events = await readSse(res, undefined, (e) => e.event === 'queued' || e.event === 'done' || e.event === 'error');
  if (events.at(-1)?.event !== 'queued') throw new Error(`ceiling message not queued: ${JSON.stringify(events.at(-1))}`);
}

/** Sends one message with `?wait=queued` and returns at its 202. */
async function sendQueued(url: string, conversation: string, text: string): Promise<void> {
  const res = await fetch(`${url}/v1/conversations/${conversation}/messages?wait=queued`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
  });
  const body = await res.json() as { status?: string };
  if (res.status !== 202) throw new Error(`ceiling message not queued: ${res.status} ${JSON.stringify(body)}`);
}

function reply<T>(child: ChildProcess, cmd: string): Promise<T> {
  return replyFrom<T>(child, cmd, 'echo gateway');
}

async function command(child: ChildProcess, cmd: string): Promise<void> {
  const done = reply(child, 'ok');
  child.send({ cmd });
  await done;
}

async function report(child: ChildProcess): Promise<Report> {
  const done = reply<Report>(child, 'ok');
  child.send({ cmd: 'report' });
  return done;
}
