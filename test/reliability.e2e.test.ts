/**
 * Nothing lost: the outbox retries a messenger that fails, across restarts, and sends once; a
 * graceful shutdown lets a turn finish, or leaves it to run again; Redis restarting mid-run loses
 * and doubles nothing; a CLI that hangs, crashes or prints garbage gets a clear reply.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TelegramAdapter } from '../adapters/telegram/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { bundledBinary, PROJECT_ROOT } from '../src/paths.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway } from './support/gateway.js';
import { cliEnv, eventually, freePort, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';
import { RedisServer } from './support/redis.js';
import { TelegramFake } from './support/telegram-fake.js';

const anthropic = new AnthropicFake();
beforeAll(async () => {
  await anthropic.start();
});
afterAll(async () => {
  await anthropic.stop();
});

describe('outbox', () => {
  it('delivers a reply once after the messenger answered 500, then 429, then OK, and across a restart', async () => {
    const telegram = await new TelegramFake().start();
    const dir = tmpDir();
    const options = {
      dir,
      config: { telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [42] } },
      adapters: (config: any) => [new TelegramAdapter(config.telegram)],
    };
    try {
      let t = await startTestGateway(anthropic, options);
      telegram.failNext('sendMessage', 500, 'Internal Server Error');
      telegram.failNext('sendMessage', 429, 'Too Many Requests: retry after 1', 1);
      telegram.userMessage({ chatId: 42, userId: 42, text: '/status' });
      await telegram.until(() => telegram.callsOf('sendMessage').length === 3, 15_000, 'three attempts');
      await eventually(() => t.gateway.store.outbox.pendingCount() === 0, 5000, 'sent');
      expect(telegram.chat(42)).toHaveLength(1);
      expect(telegram.chat(42)[0]!.text).toMatch(/^Queue \(sqlite\)/);

      // Now the messenger is down when the gateway stops: the reply waits in the outbox for the next start.
      telegram.failNext('sendMessage', 502, 'Bad Gateway');
      telegram.userMessage({ chatId: 42, userId: 42, text: '/help' });
      await telegram.until(() => telegram.callsOf('sendMessage').length === 4, 10_000, 'failed attempt');
      await t.stop();
      expect(telegram.chat(42)).toHaveLength(1);
      t = await startTestGateway(anthropic, options);
      await eventually(() => telegram.chat(42).length === 2, 30_000, 'reply after restart');
      await new Promise((r) => setTimeout(r, 1500));
      expect(telegram.chat(42)).toHaveLength(2);
      expect(telegram.chat(42)[1]!.text).toContain('/new');
      await t.stop();
    } finally {
      await telegram.stop();
    }
  });
});

describe('graceful shutdown', () => {
  const KEY = 'cg_shutdown_test_key_000000000000';

  async function gatewayProcess(dir: string, grace: number) {
    const port = await freePort();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
      gateway: { shutdown_grace_s: grace, log_level: 'info' },
      http: { enabled: true, port, api_keys: [{ user: 'me', sha256: sha256(KEY) }] },
    }));
    const p = spawnCligate(['start', '--config', config], cliEnv(anthropic, dir));
    await p.waitFor(() => p.stderr.some((l) => l.includes('cligate started')), 30_000, 'start');
    const post = (text: string) => fetch(`http://127.0.0.1:${port}/v1/conversations/g/messages?stream=false`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }),
    });
    return { p, post, config, dbFile: path.join(dir, 'data', 'cligate.db') };
  }

  it('SIGTERM lets the running answer finish within the grace period, then exits 0', async () => {
    anthropic.respond = (req) => (req.prompt === 'finish me' ? { text: 'finished in time', chunkSize: 2, delayMs: 60 } : undefined);
    const { p, post } = await gatewayProcess(tmpDir(), 20);
    const answer = post('finish me');
    await eventually(() => anthropic.prompts().includes('finish me'), 30_000, 'turn started');
    p.kill('SIGTERM');
    const body = await (await answer).json();
    expect(body).toMatchObject({ status: 'done', text: 'finished in time' });
    expect(await p.exited).toEqual({ code: 0, signal: null });
    anthropic.respond = undefined;
  });

  it('when the grace period is over, stops the CLI and runs the message again at the next start', async () => {
    const dir = tmpDir();
    let attempts = 0;
    anthropic.respond = (req) => (req.prompt === 'too slow to finish' ? { text: 'finally answered', chunkSize: 1, delayMs: ++attempts === 1 ? 400 : 0 } : undefined);
    const { p, post, config, dbFile } = await gatewayProcess(dir, 0.5);
    void post('too slow to finish').catch(() => {});
    await eventually(() => anthropic.prompts().includes('too slow to finish'), 30_000, 'turn started');
    const stoppedAt = Date.now();
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - stoppedAt).toBeLessThan(5000);

    const again = spawnCligate(['start', '--config', config], cliEnv(anthropic, dir));
    try {
      await eventually(() => {
        const db = new Database(dbFile, { readonly: true });
        const row = db.prepare("select status, attempts from messages where text = 'too slow to finish'").get() as { status: string } | undefined;
        db.close();
        return row?.status === 'done' ? row : undefined;
      }, 30_000, 'answered after restart');
    } finally {
      again.kill('SIGTERM');
      await again.exited;
    }
    const db = new Database(dbFile, { readonly: true });
    expect(db.prepare("select status, attempts from messages where text = 'too slow to finish'").get()).toEqual({ status: 'done', attempts: 1 });
    expect(db.prepare("select count(*) n from transcript where role = 'assistant' and text = 'finally answered'").get()).toEqual({ n: 1 });
    db.close();
    anthropic.respond = undefined;
  });
});

describe('Redis restarted mid-run (bullmq driver)', () => {
  it('answers every message exactly once, in order', async () => {
    const redis = await RedisServer.start();
    const t = await startTestGateway(anthropic, {
      config: { queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'restart' }, worker: { concurrency: 3, lease_s: 3 } },
    });
    try {
      anthropic.respond = (req) => (/^r\d/.test(req.prompt) ? { text: `echo: ${req.prompt}`, chunkSize: 3, delayMs: 40 } : undefined);
      const conversations = ['R1', 'R2', 'R3'];
      for (let i = 0; i < 4; i++) for (const c of conversations) await t.adapter.say(c, `r${i} ${c}`);
      await eventually(() => t.adapter.finals('R1').length >= 1, 30_000, 'first answers');
      await redis.restart(300);
      await eventually(() => conversations.every((c) => t.adapter.finals(c).length === 4), 60_000, 'all answers');
      await new Promise((r) => setTimeout(r, 1000));
      for (const c of conversations) {
        expect(t.adapter.finals(c)).toEqual([0, 1, 2, 3].map((i) => `echo: r${i} ${c}`));
      }
      const runs = anthropic.prompts().filter((p) => /^r\d R\d$/.test(p));
      // Each prompt reached the API once, except one a restart may have caught mid-turn.
      expect(new Set(runs).size).toBe(12);
    } finally {
      anthropic.respond = undefined;
      await t.stop();
      await redis.stop();
    }
  });
});

describe('CLI faults', () => {
  const flaky = path.join(PROJECT_ROOT, 'test/fixtures/flaky-claude.sh');

  it('kills a hung CLI with its children at the timeout, and answers clearly', async () => {
    const dir = tmpDir();
    const pidFile = path.join(dir, 'child.pid');
    const t = await startTestGateway(anthropic, {
      dir,
      // Long enough for the healthy turn after it to finish on a heavily loaded 2-core machine.
      // No sandbox: the stand-in CLI reports its child's pid in a file, which bubblewrap's private /tmp
      // and pid namespace would hide (a stopped turn under bubblewrap: test/isolation.e2e.test.ts).
      config: { worker: { job_timeout_s: 10 }, sandbox: { mode: 'none' }, engine: { claude: { path: flaky, env: { REAL_CLAUDE: bundledBinary('claude'), FAULT_PID_FILE: pidFile } } } },
    });
    try {
      await t.adapter.say('H', 'please FAULT-HANG');
      await eventually(() => t.adapter.finals('H').length === 1, 20_000, 'timeout reply');
      expect(t.adapter.finals('H')[0]).toMatch(/took longer than 10 s and was stopped \(worker\.job_timeout_s\)/);
      const child = Number(fs.readFileSync(pidFile, 'utf8'));
      await eventually(() => {
        try {
          process.kill(child, 0);
          return false;
        } catch {
          return true;
        }
      }, 5000, 'the hung child to be gone');
      await t.adapter.say('H', 'are you back?');
      await eventually(() => t.adapter.finals('H').length === 2, 20_000, 'next answer');
      expect(t.adapter.finals('H')[1]).toBe('echo: are you back?');
    } finally {
      await t.stop();
    }
  });

  it('answers a crash, garbage and a missing result with clear messages, and keeps the conversation working', async () => {
    const t = await startTestGateway(anthropic, {
      // Unsandboxed, like the hung-CLI case: the fixture runs the real CLI from $REAL_CLAUDE, a path the
      // sandbox binds back only for the CLI it was asked to start (and hides under its private /tmp
      // when the checkout itself lives in /tmp).
      config: { engine: { claude: { path: flaky, env: { REAL_CLAUDE: bundledBinary('claude') } } }, sandbox: { mode: 'none' } },
    });
    try {
      for (const fault of ['FAULT-CRASH', 'FAULT-GARBAGE', 'FAULT-NORESULT']) await t.adapter.say('F', `trigger ${fault}`);
      await t.adapter.say('F', 'still there?');
      await eventually(() => t.adapter.finals('F').length === 4, 30_000, 'four replies');
      const [crash, garbage, noResult, fine] = t.adapter.finals('F');
      expect(crash).toMatch(/The Claude CLI was killed by SIGSEGV before finishing its answer \(fatal: unexpected internal state\)\. The conversation is intact/);
      expect(garbage).toMatch(/printed output cligate cannot read \(no stream-json\)\. Check engine\.claude\.path/);
      expect(noResult).toMatch(/The Claude CLI exited with code 0 before finishing its answer/);
      expect(fine).toBe('echo: still there?');
    } finally {
      await t.stop();
    }
  });
});
