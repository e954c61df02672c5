/**
 * Nothing lost, nothing doubled: `kill -9` of the process running a turn, then a restart, for both
 * queue drivers; and of a gateway that has stored a Slack or Discord message but not yet acknowledged
 * it. The answer must arrive exactly once. Also: the bullmq driver with the worker in a separate process,
 * and an HTTP client retrying with its Idempotency-Key across the crash.
 */
import Database from 'better-sqlite3';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { sha256 } from '../adapters/http/keys.js';
import { DiscordFake } from './support/discord-fake.js';
import { cliEnv, eventually, freePort, spawnCligate, testConfig, tmpDir, writeConfig, type CligateProcess } from './support/harness.js';
import { RedisServer } from './support/redis.js';
import { eventCallback, SlackFake } from './support/slack-fake.js';

const fake = new AnthropicFake();
let redis: RedisServer;
const LONG = 'The long answer: ' + 'lorem ipsum '.repeat(40).trim() + '.';

beforeAll(async () => {
  [redis] = await Promise.all([RedisServer.start(), fake.start()]);
  // The first attempt is slow enough to be killed in the middle of it; the retry is quick.
  const seen = new Set<string>();
  fake.respond = (req) => {
    if (!req.prompt.startsWith('crash me')) return undefined;
    const first = !seen.has(req.prompt);
    seen.add(req.prompt);
    return { text: LONG, chunkSize: 8, delayMs: first ? 60 : 0 };
  };
});
afterAll(async () => {
  await Promise.all([redis?.stop(), fake.stop()]);
});

const answerLines = (p: CligateProcess) => p.stdout.filter((l) => l === `claude> ${LONG}`);

function outboxOf(dataDir: string, prompt: string) {
  const db = new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
  const message = db.prepare('select id, status, attempts from messages where text = ?').get(prompt) as { id: number; status: string; attempts: number };
  const rows = db.prepare('select seq, status from outbox where message_id = ?').all(message.id);
  db.close();
  return { message, rows };
}

describe('kill -9 during a turn', () => {
  it('sqlite driver: after a restart the answer arrives exactly once', async () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    // Live CLI processes on (the default): the orphaned one must not survive the restart.
    const config = writeConfig(dir, testConfig(dataDir, { live: { enabled: true } }));
    const env = cliEnv(fake, dir);
    const prompt = 'crash me (sqlite)';

    const first = spawnCligate(['chat', '--config', config], env);
    first.write(prompt);
    // The CLI is streaming the answer: the draft is on screen.
    await first.waitFor(() => fake.prompts().includes(prompt), 20_000, 'request at the API');
    await new Promise((r) => setTimeout(r, 400));
    first.kill('SIGKILL');
    await first.exited;

    const second = spawnCligate(['chat', '--config', config], env);
    await second.waitForLine(new RegExp(`^claude> ${LONG.replace(/[.]/g, '\\.')}$`), 30_000);
    second.child.stdin?.end();
    expect((await second.exited).code).toBe(0);

    expect(answerLines(first)).toHaveLength(0);
    expect(answerLines(second)).toHaveLength(1);
    const { message, rows } = outboxOf(dataDir, prompt);
    expect(message).toMatchObject({ status: 'done', attempts: 2 });
    expect(rows).toEqual([{ seq: 0, status: 'sent' }]);
    expect(fake.prompts().filter((p) => p === prompt)).toHaveLength(2);
  });

  it('while Claude waits for an approval: after a restart it asks again, the old request expires, and the answer comes once', async () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir));
    const env = cliEnv(fake, dir);
    const prompt = '[[tool Bash: echo hi > made.txt]] (crash)';
    const asked = /Allow once .*reply with the number/;

    const first = spawnCligate(['chat', '--config', config], env);
    first.write(prompt);
    await first.waitForLine(asked);
    first.kill('SIGKILL');
    await first.exited;

    const second = spawnCligate(['chat', '--config', config], env);
    await second.waitForLine(asked);
    second.write('1');
    await second.waitForLine(/^claude> tool said: \(Bash completed with no output\)$/);
    second.child.stdin?.end();
    expect((await second.exited).code).toBe(0);

    const db = new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
    expect(db.prepare('select status, decided_by from approvals order by id').all()).toEqual([
      { status: 'expired', decided_by: null }, { status: 'allowed', decided_by: expect.any(String) },
    ]);
    expect(db.prepare("select count(*) as n from transcript where role = 'assistant'").get()).toEqual({ n: 1 });
    db.close();
  });

  it('bullmq driver: the worker process dies, a new one finishes, the gateway shows the answer once', async () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir, { queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'crash' } }));
    const env = cliEnv(fake, dir);
    const prompt = 'crash me (bullmq)';

    const chat = spawnCligate(['chat', '--config', config, '--role', 'gateway'], env);
    const worker1 = spawnCligate(['start', '--config', config, '--role', 'worker'], env);
    try {
      chat.write(prompt);
      await chat.waitFor(() => fake.prompts().includes(prompt), 30_000, 'request at the API');
      await new Promise((r) => setTimeout(r, 400));
      worker1.kill('SIGKILL');
      await worker1.exited;

      const worker2 = spawnCligate(['start', '--config', config, '--role', 'worker'], env);
      try {
        await chat.waitForLine(new RegExp(`^claude> ${LONG.replace(/[.]/g, '\\.')}$`), 40_000);
      } finally {
        worker2.kill('SIGTERM');
        await worker2.exited;
      }
      await new Promise((r) => setTimeout(r, 300));
      expect(answerLines(chat)).toHaveLength(1);
      const { message, rows } = outboxOf(dataDir, prompt);
      expect(message.status).toBe('done');
      expect(rows).toEqual([{ seq: 0, status: 'sent' }]);
    } finally {
      chat.child.stdin?.end();
      await chat.exited;
    }
  });
});

describe('kill -9 of the gateway between accept and reply', () => {
  it('bullmq driver: the worker finishes, the restarted gateway delivers the answer once', async () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir, { queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'gwcrash' } }));
    const env = cliEnv(fake, dir);
    const prompt = 'crash me (gateway)';
    const worker = spawnCligate(['start', '--config', config, '--role', 'worker'], env);
    try {
      const gateway1 = spawnCligate(['chat', '--config', config, '--role', 'gateway'], env);
      gateway1.write(prompt);
      await gateway1.waitFor(() => fake.prompts().includes(prompt), 30_000, 'request at the API');
      gateway1.kill('SIGKILL');
      await gateway1.exited;
      // The worker goes on and records the answer in the outbox while no gateway runs.
      const db = () => new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
      await (async () => {
        for (let i = 0; i < 300; i++) {
          const d = db();
          const row = d.prepare('select status from messages where text = ?').get(prompt) as { status: string } | undefined;
          d.close();
          if (row?.status === 'done') return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error('the worker did not finish the turn');
      })();
      const gateway2 = spawnCligate(['chat', '--config', config, '--role', 'gateway'], env);
      await gateway2.waitForLine(new RegExp(`^claude> ${LONG.replace(/[.]/g, '\\.')}$`), 30_000);
      gateway2.child.stdin?.end();
      await gateway2.exited;
      expect(answerLines(gateway1)).toHaveLength(0);
      expect(answerLines(gateway2)).toHaveLength(1);
      expect(outboxOf(dataDir, prompt).rows).toEqual([{ seq: 0, status: 'sent' }]);
      expect(fake.prompts().filter((p) => p === prompt)).toHaveLength(1);
    } finally {
      worker.kill('SIGTERM');
      await worker.exited;
    }
  });
});

describe('kill -9 of the gateway while an HTTP client waits for its answer', () => {
  it('the retry with the same Idempotency-Key gets the original answer after the restart; another text with it gets 422', async () => {
    const dir = tmpDir();
    const key = 'cg_crash_test_key_0123456789';
    const port = await freePort();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), { http: { enabled: true, port, api_keys: [{ user: 'alice', sha256: sha256(key) }] } }));
    const env = cliEnv(fake, dir);
    const url = `http://127.0.0.1:${port}`;
    const prompt = 'crash me (http)';
    const send = (text: string, query = '?stream=false') => fetch(`${url}/v1/conversations/work/messages${query}`, {
      method: 'POST', body: JSON.stringify({ text }),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'idempotency-key': 'retry-me' },
    });
    const listening = () => eventually(() => fetch(`${url}/healthz`).then((r) => r.ok), 30_000, 'the gateway to listen');

    const first = spawnCligate(['start', '--config', config], env);
    await listening();
    // Streamed, as most clients ask: the connection dies with the gateway, before `done`.
    const lost = send(prompt, '').then((res) => res.text()).catch((err: Error) => `lost: ${err.message}`);
    await eventually(() => fake.prompts().includes(prompt), 20_000, 'request at the API');
    await new Promise((r) => setTimeout(r, 400));
    first.kill('SIGKILL');
    await first.exited;
    expect(await lost).not.toMatch(/event: done/);

    const second = spawnCligate(['start', '--config', config], env);
    try {
      await listening();
      const retry = await send(prompt);
      expect(retry.headers.get('idempotent-replayed')).toBe('true');
      expect(await retry.json()).toMatchObject({ status: 'done', text: LONG, conversation_id: 'http:alice:work', replayed: true });
      const reused = await send('another text');
      expect(reused.status).toBe(422);
      expect((await reused.json()).error.code).toBe('idempotency_key_reused');
      const transcript = (await (await fetch(`${url}/v1/conversations/work`, { headers: { authorization: `Bearer ${key}` } })).json()).transcript;
      expect(transcript.map((r: { role: string; text: string }) => `${r.role}: ${r.text}`)).toEqual([`user: ${prompt}`, `assistant: ${LONG}`]);
      // The killed attempt and its rerun after the restart; the retries started none.
      expect(fake.prompts().filter((p) => p === prompt)).toHaveLength(2);
    } finally {
      second.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('bullmq driver with a separate worker process', () => {
  it('answers through Redis and resumes the session for the second message', async () => {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir, { queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'split' } }));
    const env = cliEnv(fake, dir);
    const worker = spawnCligate(['start', '--config', config, '--role', 'worker'], env);
    const chat = spawnCligate(['chat', '--config', config, '--role', 'gateway'], env);
    try {
      chat.write('hello via redis');
      await chat.waitForLine(/^claude> echo: hello via redis$/, 30_000);
      chat.write('second via redis');
      await chat.waitForLine(/^claude> echo: second via redis$/, 30_000);
      chat.child.stdin?.end();
      expect((await chat.exited).code).toBe(0);
    } finally {
      chat.kill();
      worker.kill('SIGTERM');
      await worker.exited;
    }
    const last = fake.requests.filter((r) => r.prompt === 'second via redis').at(-1)!;
    expect(JSON.stringify(last.body.messages)).toContain('echo: hello via redis');
    const db = new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
    expect(db.prepare('select turns from sessions').all()).toEqual([{ turns: 2 }]);
    db.close();
  });
});

describe('kill -9 between storing a message and acknowledging it', () => {
  // The stand-in never takes the gateway's acknowledgement, as if the gateway had died before it went
  // out, and checks as each one arrives that the message was already stored. The gateway is killed once
  // the message row exists and the ack came; the restarted one must answer the message, once.
  const slack = new SlackFake();
  const discord = new DiscordFake();
  const ALICE = '600000000000000001';
  beforeAll(async () => {
    await Promise.all([slack.start(), discord.start()]);
    slack.dropAcks = true;
    discord.holdInteractionCallbacks = true;
  });
  afterAll(async () => {
    await Promise.all([slack.stop(), discord.stop()]);
  });

  type StandIn = SlackFake | DiscordFake;

  /** The message the platform delivered with this id, if the gateway has stored it. */
  function storedMessage(dataDir: string, platformMessageId: string): { id: number } | undefined {
    const db = new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
    try {
      return db.prepare('select id from messages where platform_message_id = ?').get(platformMessageId) as { id: number } | undefined;
    } finally {
      db.close();
    }
  }

  /** Takes the database's write lock, as a long write of another process would; returns its release. */
  function holdWriteLock(dataDir: string): () => void {
    const db = new Database(path.join(dataDir, 'cligate.db'));
    db.pragma('busy_timeout = 5000');
    db.exec('begin immediate');
    return () => {
      db.exec('commit');
      db.close();
    };
  }

  /**
   * Runs a gateway connected to `standIn`, lets `send` deliver a message (it returns the message's
   * platform id), kills the gateway once the message is stored and its ack has come, and starts a
   * second one. Returns a way to stop that one, and whether each ack found the message already stored.
   */
  async function crashAfterStoring(standIn: StandIn, platformConfig: Record<string, unknown>, send: () => string) {
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir, platformConfig));
    const env = cliEnv(fake, dir);
    let platformMessageId = '';
    const storedAtAck: boolean[] = [];
    standIn.onAck = () => storedAtAck.push(storedMessage(dataDir, platformMessageId) !== undefined);
    const start = async () => {
      const connections = standIn.connections;
      const gateway = spawnCligate(['start', '--config', config], env);
      await standIn.connected(connections + 1);
      return gateway;
    };
    const first = await start();
    // While the lock is held the gateway cannot store the message: an ack that comes meanwhile was sent first.
    const release = holdWriteLock(dataDir);
    platformMessageId = send();
    await new Promise((r) => setTimeout(r, 300));
    release();
    // The ack arrived (and was dropped): the gateway is past the store and its acknowledgement.
    await eventually(() => {
      if (storedAtAck.includes(false)) throw new Error('the gateway acknowledged the message before storing it');
      return storedAtAck.length > 0 && storedMessage(dataDir, platformMessageId);
    }, 20_000, 'the message stored and acknowledged', 20);
    first.kill('SIGKILL');
    await first.exited;
    const second = await start();
    return {
      storedAtAck,
      stop: async () => {
        second.kill('SIGTERM');
        await second.exited;
      },
    };
  }

  /** Time for a second answer to show up, if one were coming. */
  const settle = () => new Promise((r) => setTimeout(r, 800));
  const slackConfig = () => ({ slack: { bot_token: slack.botToken, app_token: 'xapp-test', api_url: slack.apiUrl, allowed_users: ['U1'] } });

  it('Slack Socket Mode event: answered after the restart, and Slack\'s resend is a duplicate', async () => {
    const ts = '1700000100.000001';
    const event = eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'stored, not acked (event)', ts, channel: 'DCRASH1' });
    const run = await crashAfterStoring(slack, slackConfig(), () => {
      void slack.sendEnvelope('events_api', event);
      return `DCRASH1:${ts}`;
    });
    try {
      // Slack got no ack, so it sends the event again.
      slack.dropAcks = false;
      await slack.sendEnvelope('events_api', event, 1);
      await eventually(() => slack.inChannel('DCRASH1')[0]?.text === 'echo: stored, not acked (event)', 30_000, 'the answer');
      await settle();
    } finally {
      slack.dropAcks = true;
      await run.stop();
    }
    expect(slack.inChannel('DCRASH1')).toHaveLength(1);
    expect(run.storedAtAck).toEqual([true, true]);
  });

  it('Slack slash command: answered after the restart', async () => {
    const command = { command: '/claude', text: 'stored, not acked (command)', user_id: 'U1', channel_id: 'DCRASH2', team_id: 'T1', response_url: slack.responseUrl(), trigger_id: 'trig-crash' };
    const run = await crashAfterStoring(slack, slackConfig(), () => {
      void slack.sendEnvelope('slash_commands', command);
      return `command:${command.trigger_id}`;
    });
    try {
      await eventually(() => slack.inChannel('DCRASH2')[0]?.text === 'echo: stored, not acked (command)', 30_000, 'the answer');
      await settle();
    } finally {
      await run.stop();
    }
    expect(slack.inChannel('DCRASH2')).toHaveLength(1);
    expect(run.storedAtAck).toEqual([true]);
  });

  it('Discord slash command: run after the restart, answered in DMs since Discord dropped the interaction', async () => {
    let interaction = { id: '', token: '' };
    const config = { discord: { token: 'fake.discord.token', api_url: discord.api, allowed_users: [ALICE], dev_guild_id: discord.guildId } };
    const run = await crashAfterStoring(discord, config, () => {
      interaction = discord.slashCommand('status', undefined);
      return `interaction:${interaction.id}`;
    });
    const dm = () => discord.inChannel(discord.dmChannelOf(ALICE));
    try {
      await eventually(() => dm().length === 1, 30_000, 'the answer in DMs');
      await settle();
    } finally {
      await run.stop();
    }
    expect(dm().map((m) => m.content)).toEqual([expect.stringMatching(/^Queue \(sqlite\)/)]);
    expect(discord.inChannel(`interaction:${interaction.token}`)).toEqual([]);
    expect(run.storedAtAck).toEqual([true]);
  });
});
