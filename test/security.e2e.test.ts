/**
 * Nobody let in by default; limits per person; prompts reach the CLI as argv only; secrets never in
 * the logs.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messengerAdapters } from '../adapters/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { TelegramAdapter } from '../adapters/telegram/index.js';
import { loadConfig } from '../src/config/load.js';
import { createLogger } from '../src/log.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway } from './support/gateway.js';
import { cliEnv, eventually, freePort, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';
import { TelegramFake } from './support/telegram-fake.js';

const anthropic = new AnthropicFake();
beforeAll(async () => {
  await anthropic.start();
});
afterAll(async () => {
  await anthropic.stop();
});

describe('default deny', () => {
  it('with no allow-list, no messenger user reaches the CLI, and start-up says how to allow yourself', async () => {
    const telegram = await new TelegramFake().start();
    const dir = tmpDir();
    const logFile = path.join(dir, 'log.jsonl');
    const file = writeConfig(dir, testConfig(path.join(dir, 'data'), { telegram: { token: telegram.token, api_root: telegram.url } }));
    const loaded = loadConfig(file);
    if (!loaded.ok) throw new Error(loaded.error);
    await messengerAdapters(loaded.config, createLogger({ level: 'warn', secrets: [], destination: logFile }));
    expect(fs.readFileSync(logFile, 'utf8')).toContain('telegram: allowed_users is empty, so nobody can use the bot. Message it once: it replies with your user id; add that to telegram.allowed_users');

    const t = await startTestGateway(anthropic, {
      config: { telegram: { token: telegram.token, api_root: telegram.url } },
      adapters: (config) => [new TelegramAdapter(config.telegram)],
    });
    try {
      const before = anthropic.requests.length;
      telegram.userMessage({ chatId: 5, userId: 5, text: 'hello?' });
      await telegram.until(() => telegram.chat(5).length === 1, 10_000, 'refusal');
      expect(telegram.chat(5)[0]!.text).toMatch(/not on its allow-list\. \(Your user id is 5; the owner can add it to telegram\.allowed_users\.\)/);
      expect(anthropic.requests.length).toBe(before);
    } finally {
      await t.stop();
      await telegram.stop();
    }
  });
});

describe('limits per person', () => {
  it('refuses messages over the per-minute rate, with the limit named', async () => {
    const t = await startTestGateway(anthropic, { config: { limits: { messages_per_minute: 2 } } });
    try {
      for (const text of ['one', 'two', 'three']) await t.adapter.say('RL', text);
      await eventually(() => t.adapter.finals('RL').length === 3, 20_000, 'three replies');
      expect(t.adapter.finals('RL')).toContain('You have sent 2 messages in the last minute, the most allowed (limits.messages_per_minute). Please wait a moment and send it again.');
      expect(anthropic.prompts()).not.toContain('three');
    } finally {
      await t.stop();
    }
  });

  it('refuses messages once the daily budget is spent', async () => {
    const t = await startTestGateway(anthropic, { config: { limits: { budget_usd_per_day: 0.00001 } } });
    try {
      await t.adapter.say('BU', 'first costs money');
      await eventually(() => t.adapter.finals('BU').length === 1, 20_000, 'answer');
      await t.adapter.say('BU', 'second');
      await eventually(() => t.adapter.finals('BU').length === 2, 20_000, 'refusal');
      expect(t.adapter.finals('BU')[1]).toMatch(/^Your answers cost \$[0-9.e-]+ in the last 24 hours, reaching the daily budget of \$0\.000010 \(limits\.budget_usd_per_day\)/);
      expect(anthropic.prompts()).not.toContain('second');
    } finally {
      await t.stop();
    }
  });
});

describe('prompts reach the CLI as argv, never through a shell', () => {
  it('passes shell syntax and flag-like text through verbatim, running nothing', async () => {
    const marker = path.join(os.tmpdir(), `cligate-pwned-${process.pid}`);
    const prompts = [`$(touch ${marker}) and \`touch ${marker}\``, `; touch ${marker} #`, '--dangerously-skip-permissions', '-p --help'];
    const t = await startTestGateway(anthropic);
    try {
      for (const p of prompts) await t.adapter.say('SH', p);
      await eventually(() => t.adapter.finals('SH').length === prompts.length, 30_000, 'answers');
      expect(t.adapter.finals('SH')).toEqual(prompts.map((p) => `echo: ${p}`));
      expect(fs.existsSync(marker)).toBe(false);
    } finally {
      await t.stop();
    }
  });
});

describe('secrets in logs', () => {
  it('never writes tokens, API keys or OAuth tokens to the log, even at trace level', async () => {
    const telegram = await new TelegramFake().start();
    const dir = tmpDir();
    const port = await freePort();
    const apiKey = 'cg_secret_api_key_never_logged_123';
    const secrets = {
      TELEGRAM_BOT_TOKEN: telegram.token,
      SLACK_SIGNING_SECRET: 'slack-signing-secret-never-logged',
      CLAUDE_CODE_OAUTH_TOKEN: 'sk-ant-oat01-oauth-token-never-logged',
      REDIS_URL: 'redis://:redis-password-never-logged@127.0.0.1:1',
    };
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
      gateway: { log_level: 'trace' },
      telegram: { api_root: telegram.url, allowed_users: [42] },
      http: { enabled: true, port, api_keys: [{ user: 'me', sha256: sha256(apiKey) }] },
      engine: { claude: { env: { MY_PROVIDER_TOKEN: 'provider-token-never-logged' } } },
    }));
    const p = spawnCligate(['start', '--config', config], cliEnv(anthropic, dir, secrets));
    try {
      await p.waitFor(() => p.stderr.some((l) => l.includes('cligate started')), 30_000, 'start');
      telegram.userMessage({ chatId: 42, userId: 42, text: 'hello with secrets around' });
      await telegram.until(() => telegram.chat(42).some((m) => m.text === 'echo: hello with secrets around'), 20_000, 'answer');
      const res = await fetch(`http://127.0.0.1:${port}/v1/conversations/s/messages?stream=false`, {
        method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'over http' }),
      });
      expect((await res.json()).text).toBe('echo: over http');
      await fetch(`http://127.0.0.1:${port}/v1/conversations`, { headers: { authorization: 'Bearer cg_wrong' } });
    } finally {
      p.kill('SIGTERM');
      await p.exited;
      await telegram.stop();
    }
    const log = p.stderr.join('\n');
    expect(log).toContain('"msg":"configuration"');
    expect(log).toContain('[REDACTED]');
    for (const secret of [...Object.values(secrets), 'redis-password-never-logged', 'provider-token-never-logged', apiKey, 'sk-ant-fake-key-for-tests']) {
      expect(log, `the log contains ${secret}`).not.toContain(secret);
    }
  });
});
