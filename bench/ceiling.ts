/**
 * The gateway's ceiling without a CLI (bench/echo-gateway.ts runs it): 10,000 messages in 1,000
 * conversations through the HTTP adapter, for one queue driver.
 *   1. accepted/s: the engine holds every answer, so all 10,000 wait; from the first request to the
 *      last `queued` event the clients see; the event loop's longest stall and the RSS with them waiting;
 *   2. answered/s: the engine lets go; from then to the last `done`; the longest stall meanwhile.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { sha256 } from '../adapters/http/keys.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { freePort, testConfig, tmpDir, writeConfig } from '../test/support/harness.js';
import type { RedisServer } from '../test/support/redis.js';
import { readSse } from '../test/support/sse.js';

const KEY = 'cg_bench_key_000000000000000000000';
export const CONVERSATIONS = Number(process.env.BENCH_CEILING_CONVERSATIONS ?? 1000);
export const PER_CONVERSATION = Number(process.env.BENCH_CEILING_EACH ?? 10);

interface Report {
  maxStallMs: number;
  p99StallMs: number;
  rssMb: number;
  peakRssMb: number;
  answered: number;
}

export interface Ceiling {
  messages: number;
  conversations: number;
  acceptedPerS: number;
  answeredPerS: number;
  /** Longest event-loop stall while the messages were accepted, and while they were answered. */
  acceptStallMs: number;
  answerStallMs: number;
  /** Gateway RSS with every message waiting, and its peak over the whole burst. */
  waitingRssMb: number;
  peakRssMb: number;
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
    let queued = 0;
    let lastQueued = 0;
    let allQueued: () => void = () => {};
    const accepted = new Promise<void>((r) => (allQueued = r));
    let lastDone = 0;
    const started = performance.now();
    const runs: Promise<void>[] = [];
    for (let m = 0; m < PER_CONVERSATION; m++) {
      for (let c = 0; c < CONVERSATIONS; c++) {
        runs.push(send(url, `ceiling-${c}`, `m${m}`, () => {
          lastQueued = performance.now();
          if (++queued === total) allQueued();
        }).then(() => void (lastDone = performance.now())));
      }
    }
    await accepted;
    const waiting = await report(child);
    await command(child, 'reset');
    const released = performance.now();
    await command(child, 'release');
    await Promise.all(runs);
    const answering = await report(child);
    return {
      messages: total,
      conversations: CONVERSATIONS,
      acceptedPerS: total / ((lastQueued - started) / 1000),
      answeredPerS: total / ((lastDone - released) / 1000),
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

async function send(url: string, conversation: string, text: string, onQueued: () => void): Promise<void> {
  const res = await fetch(`${url}/v1/conversations/${conversation}/messages`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
  });
  const events = await readSse(res, (e) => {
    if (e.event === 'queued') onQueued();
  });
  const done = events.at(-1);
  if (done?.event !== 'done' || done.data.status !== 'done') throw new Error(`ceiling message failed: ${JSON.stringify(done)}`);
}

function reply<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: { cmd: string }) => {
      if (m.cmd !== cmd) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(m as T);
    };
    const onExit = (code: number | null) => reject(new Error(`echo gateway exited (${code})`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
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
