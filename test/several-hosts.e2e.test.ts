/**
 * Past one machine: two gateways and three workers, each a `cligate start` process with its own
 * local folder (its config), sharing PostgreSQL (the store), Redis (queue and live events) and one
 * data folder (workspaces and the CLIs' sessions), as hosts sharing a volume would. The real CLI
 * answers, against the Anthropic stand-in.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../adapters/http/keys.js';
import { Store } from '../src/store/index.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { cliEnv, eventually, freePort, spawnCligate, testConfig, tmpDir, writeConfig, type CligateProcess } from './support/harness.js';
import { PostgresServer } from './support/postgres.js';
import { RedisServer } from './support/redis.js';
import { readSse, type SseEvent } from './support/sse.js';
import { TelegramFake } from './support/telegram-fake.js';

const CONVERSATIONS = 12;
const PER_CONVERSATION = 6;
const KEY = 'cg_hosts_test_key_000000000000000';
const anthropic = new AnthropicFake({ delayMs: 10, chunkSize: 40 });

let postgres: PostgresServer;
let redis: RedisServer;
let store: Store;
const processes: CligateProcess[] = [];
const gateways: { port: number; process: CligateProcess }[] = [];
const workers: CligateProcess[] = [];

beforeAll(async () => {
  [postgres, redis] = await Promise.all([PostgresServer.start(), RedisServer.start()]);
  await anthropic.start();
  const url = await postgres.createDatabase();
  shared = tmpDir('cligate-shared-');
  dbUrl = url;
  const all = [await host('gateway'), await host('gateway'), ...(await Promise.all([host('worker'), host('worker'), host('worker')]))];
  await Promise.all(all.map(started));
  store = Store.open({ driver: 'postgres', url, path: '' });
}, 120_000);

let shared: string;
let dbUrl: string;
const started = (p: CligateProcess) => p.waitFor(() => p.stderr.some((l) => l.includes('cligate started')), 60_000, 'start');

/**
 * A `cligate start` process on its own local folder. Leases are long enough (15 s) that a process
 * starved of CPU by the others (20 live CLIs on 2 cores) keeps its conversations; the worker-kill case
 * uses workers of its own with shorter ones, since the lease of the dead worker's turn is what it waits out.
 */
async function host(role: 'gateway' | 'worker', leaseS = 15): Promise<CligateProcess> {
  const local = tmpDir('cligate-host-');
  const port = await freePort();
  const config = writeConfig(local, testConfig(path.join(shared, 'data'), {
    gateway: { log_level: 'info' },
    store: { driver: 'postgres', url: dbUrl },
    queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'hosts' },
    worker: { concurrency: 4, lease_s: leaseS },
    live: { enabled: true, max_processes: 10 },
    http: { enabled: role === 'gateway', port, api_keys: [{ user: 'ops', sha256: sha256(KEY), admin: true }] },
  }));
  const p = spawnCligate(['start', '--config', config, '--role', role], cliEnv(anthropic, local));
  processes.push(p);
  if (role === 'gateway') gateways.push({ port, process: p });
  else workers.push(p);
  return p;
}

afterAll(async () => {
  for (const p of processes) p.kill('SIGTERM');
  await Promise.all(processes.map((p) => p.exited));
  store?.close();
  await Promise.all([postgres?.stop(), redis?.stop(), anthropic.stop()]);
});

/** Posts a message as a client should: with an Idempotency-Key, sent again if the connection breaks. */
async function post(gateway: number, conversation: string, text: string): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetch(`http://127.0.0.1:${gateways[gateway]!.port}/v1/conversations/${conversation}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': `${conversation} ${text}` },
        body: JSON.stringify({ text }),
      });
    } catch (err) {
      if (attempt === 3) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** What a gateway process said at warn level or above, and whether it still runs: for failures. */
function diagnose(gateway: number): string {
  const p = gateways[gateway]!.process;
  const worrying = p.stderr.filter((l) => /"level":(40|50|60)/.test(l) || !l.startsWith('{')).slice(-20);
  return `gateway ${gateway} ${p.child.exitCode === null && p.child.signalCode === null ? 'runs' : `exited (${p.child.exitCode ?? p.child.signalCode})`}:\n${worrying.join('\n')}`;
}

/** Sends a message and resolves once it is accepted, with the promise of its answer's text. */
async function send(gateway: number, conversation: string, text: string): Promise<{ answer: Promise<string> }> {
  const res = await post(gateway, conversation, text).catch((err: Error) => {
    throw new Error(`${err.message} (${(err.cause as Error | undefined)?.message}); ${diagnose(gateway)}`);
  });
  if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
  let accepted: () => void = () => {};
  const queued = new Promise<void>((r) => (accepted = r));
  // A retried request (the first was accepted before its connection broke) gets the answer without a `queued`.
  const answer = readSse(res, (e) => (e.event === 'queued' || e.event === 'done') && accepted()).then((events) => String(events.at(-1)!.data.text));
  await queued;
  return { answer };
}

describe('two gateways and three workers on PostgreSQL and Redis', () => {
  it(`answers ${CONVERSATIONS * PER_CONVERSATION} messages over ${CONVERSATIONS} conversations through both gateways, once each, each conversation in order`, async () => {
    // A client of gateway B follows everything, whichever gateway took it.
    const watcher = new AbortController();
    const seenOnB: SseEvent[] = [];
    const events = await fetch(`http://127.0.0.1:${gateways[1]!.port}/v1/events`, { headers: { authorization: `Bearer ${KEY}` }, signal: watcher.signal });
    void readSse(events, (e) => seenOnB.push(e)).catch(() => {});

    const answers = await Promise.all(Array.from({ length: CONVERSATIONS }, async (_, c) => {
      const pending: Promise<string>[] = [];
      // Alternating gateways: the next message goes out once the last one is accepted, so their order is known.
      for (let m = 0; m < PER_CONVERSATION; m++) pending.push((await send((c + m) % 2, `hosts-${c}`, `c${c} m${m}`)).answer);
      return Promise.all(pending);
    }));
    for (let c = 0; c < CONVERSATIONS; c++) {
      expect(answers[c]).toEqual(Array.from({ length: PER_CONVERSATION }, (_, m) => `echo: c${c} m${m}`));
      const asked = anthropic.prompts().filter((p) => p.startsWith(`c${c} `));
      expect(asked).toEqual(Array.from({ length: PER_CONVERSATION }, (_, m) => `c${c} m${m}`));
    }
    // A conversation's messages go to the worker keeping its CLI warm, so one process answers most of
    // them. Spread at random over three workers, six messages would meet 2.7 processes on average; a
    // message that comes in the instant between a drain's end and the worker's claim may still go elsewhere.
    const processesPerConversation = store.db.sql<{ n: number }>(
      "select count(distinct engine_process) n from messages where conversation_id like 'http:%hosts-%' and text like 'c% m%' group by conversation_id",
    ).map((r) => r.n);
    console.log(`several hosts: CLI processes per conversation ${processesPerConversation.join(' ')}`);
    expect(processesPerConversation).toHaveLength(CONVERSATIONS);
    expect(processesPerConversation.reduce((a, b) => a + b, 0) / CONVERSATIONS).toBeLessThanOrEqual(1.6);
    // Gateway B's stream saw the answers of the messages gateway A accepted.
    const finishedOnB = new Set(seenOnB.filter((e) => e.event === 'finished' || e.event === 'done').map((e) => e.data.messageId));
    const acceptedByA = store.db.sql<{ id: number }>("select id from messages where text = 'c0 m0' or text = 'c1 m1'");
    expect(acceptedByA.length).toBe(2);
    for (const { id } of acceptedByA) expect(finishedOnB.has(id)).toBe(true);
    watcher.abort();
  }, 180_000);

  it('a worker killed with kill -9 mid-turn: another worker finishes the turn, answered once', async () => {
    // The takeover waits out the dead worker's lease (its job's lock in Redis, then a stalled-job check).
    // Three workers with 5 s leases in place of the long-lease ones: with one conversation running there
    // is no CPU starvation to cover, and the wait is a third of what 15 s leases make it.
    const old = workers.splice(0);
    for (const w of old) w.kill('SIGTERM');
    await Promise.all(old.map((w) => w.exited));
    await Promise.all((await Promise.all([host('worker', 5), host('worker', 5), host('worker', 5)])).map(started));
    anthropic.respond = (req) => (req.prompt === 'outlive the worker' ? { text: 'finished elsewhere', chunkSize: 2, delayMs: 80 } : undefined);
    try {
      const { answer } = await send(0, 'hosts-crash', 'outlive the worker');
      const holder = await eventually(() => store.db.sql<{ owner: string }>("select owner from leases where conversation_id like '%hosts-crash'")[0]?.owner, 30_000, 'a worker on it');
      await eventually(() => anthropic.prompts().includes('outlive the worker'), 30_000, 'the turn started');
      const pid = Number(holder.split(':')[1]);
      const victim = workers.find((w) => w.child.pid === pid)!;
      expect(victim).toBeDefined();
      victim.child.kill('SIGKILL');
      await victim.exited;
      expect(await answer).toBe('finished elsewhere');
      const row = store.db.sql<{ status: string; attempts: number }>("select status, attempts from messages where text = 'outlive the worker'")[0]!;
      expect(row).toEqual({ status: 'done', attempts: 2 });
      const said = store.db.sql<{ n: number }>("select count(*) n from transcript where role = 'assistant' and text = 'finished elsewhere'")[0]!;
      expect(said.n).toBe(1);
    } finally {
      anthropic.respond = undefined;
    }
  }, 90_000);
});

describe('Telegram long polling with two gateways', () => {
  it('one gateway polls; killed with kill -9, the other takes over: no update lost or handled twice', async () => {
    const telegram = new TelegramFake();
    await telegram.start();
    const url = await postgres.createDatabase();
    const shared = tmpDir('cligate-shared-');
    const gatewaysHere = await Promise.all([0, 1].map(async () => {
      const local = tmpDir('cligate-host-');
      const config = writeConfig(local, testConfig(path.join(shared, 'data'), {
        gateway: { log_level: 'info' },
        store: { driver: 'postgres', url },
        queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'polling' },
        telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [42] },
      }));
      const p = spawnCligate(['start', '--config', config], cliEnv(anthropic, local));
      processes.push(p);
      await p.waitFor(() => p.stderr.some((l) => l.includes('cligate started')), 60_000, 'start');
      return p;
    }));
    const db = Store.open({ driver: 'postgres', url, path: '' });
    try {
      const holderPid = () => Number(db.db.sql<{ owner: string }>("select owner from leases where conversation_id = 'platform:telegram'")[0]?.owner.split(':')[1]);
      const holder = gatewaysHere.find((p) => p.child.pid === holderPid())!;
      const standby = gatewaysHere.find((p) => p !== holder)!;
      expect(holder).toBeDefined();
      const answers = () => telegram.chat(42).filter((m) => m.text.startsWith('echo:') && !m.buttons).map((m) => m.text);

      telegram.userMessage({ chatId: 42, userId: 42, text: 'before the kill' });
      await eventually(() => answers().includes('echo: before the kill'), 30_000, 'the first answer');
      holder.child.kill('SIGKILL');
      await holder.exited;
      // Sent while nobody polls: the gateway taking over gets it.
      telegram.userMessage({ chatId: 42, userId: 42, text: 'after the kill' });
      await eventually(() => answers().includes('echo: after the kill'), 30_000, 'the answer after the takeover');
      expect(holderPid()).toBe(standby.child.pid);
      await new Promise((r) => setTimeout(r, 1000));
      expect(answers()).toEqual(['echo: before the kill', 'echo: after the kill']);
      const stored = db.db.sql<{ text: string; n: number }>('select text, count(*) n from messages group by text order by text');
      expect(stored).toEqual([{ text: 'after the kill', n: 1 }, { text: 'before the kill', n: 1 }]);
    } finally {
      db.close();
      await telegram.stop();
    }
  }, 120_000);
});
