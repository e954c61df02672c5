/**
 * Webhooks in, end to end: a GitHub-shaped delivery, signed with the secret, is stored, answered by the
 * real `claude` CLI (against the Anthropic stand-in) and the answer lands in a Telegram chat (the Bot
 * API stand-in); bad signatures, redeliveries, unlisted events, unknown paths and big bodies run nothing.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { TelegramAdapter } from '../adapters/telegram/index.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import { TelegramFake } from './support/telegram-fake.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
const ALICE = 42;
const SECRET = 'github-webhook-secret-for-tests';
const TOKEN = 'bearer-token-for-the-ci-hook';
const API_KEY = 'cg_test_key_for_the_owner_0123456789';
let t: TestGateway;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start()]);
  t = await startTestGateway(anthropic, {
    config: {
      telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [ALICE] },
      http: { enabled: true, port: 0, web_chat: false, api_keys: [{ user: 'owner', sha256: sha256(API_KEY), admin: true }] },
      webhooks: [
        { path: 'github', kind: 'github', secret: SECRET, conversation: `telegram:${ALICE}`, events: ['issues'], template: 'New issue {{issue.title}}: {{issue.body}}{{issue.nothing.here}}' },
        { path: 'ci', kind: 'bearer', secret: TOKEN, conversation: `telegram:${ALICE}`, template: 'Build {{build.id}} {{status}}' },
      ],
    },
    adapters: (config) => [new TelegramAdapter(config.telegram), new HttpAdapter({ http: config.http })],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop()]);
});

const issue = (title: string) => JSON.stringify({ action: 'opened', issue: { number: 7, title, body: 'it crashes on start' }, repository: { full_name: 'acme/app' } });
const sign = (body: string, secret = SECRET) => 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
const stored = () => (t.gateway.store.db.raw.prepare("select count(*) n from messages where platform = 'webhook'").get() as { n: number }).n;

function deliver(path: string, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${t.gateway.httpUrl}/hooks/${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
}
function github(body: string, headers: Record<string, string> = {}): Promise<Response> {
  return deliver('github', body, { 'x-github-event': 'issues', 'x-github-delivery': crypto.randomUUID(), 'x-hub-signature-256': sign(body), ...headers });
}

describe('webhooks', () => {
  it('turns a signed GitHub issues delivery into a turn whose answer arrives in the Telegram chat', async () => {
    const body = issue('Crash on start');
    const res = await github(body);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'accepted' });
    // Stored before the 202.
    expect(stored()).toBe(1);
    // (The draft that streams it is the same message, edited into the answer.)
    await eventually(() => telegram.chat(ALICE)[0]?.text === 'echo: New issue Crash on start: it crashes on start' && t.gateway.store.outbox.pendingCount() === 0, 30_000, 'the answer in Telegram');
    expect(telegram.chat(ALICE)).toHaveLength(1);
  });

  it('refuses a wrong or missing signature with 401, and nothing runs', async () => {
    const before = anthropic.prompts().length;
    const body = issue('Forged');
    expect((await github(body, { 'x-hub-signature-256': sign(body, 'not-the-secret-at-all') })).status).toBe(401);
    expect((await github(body, { 'x-hub-signature-256': sign(body + ' ') })).status).toBe(401);
    expect((await deliver('github', body, { 'x-github-event': 'issues', 'x-github-delivery': crypto.randomUUID() })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(stored()).toBe(1);
    expect(anthropic.prompts().length).toBe(before);
  });

  it('runs the same delivery id once', async () => {
    const body = issue('Twice delivered');
    const id = crypto.randomUUID();
    const first = await github(body, { 'x-github-delivery': id });
    const second = await github(body, { 'x-github-delivery': id });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect(await second.json()).toMatchObject({ status: 'duplicate' });
    await eventually(() => telegram.chat(ALICE).length === 2 && t.gateway.store.outbox.pendingCount() === 0, 30_000, 'one answer');
    await new Promise((r) => setTimeout(r, 500));
    expect(anthropic.prompts().filter((p) => p.startsWith('New issue Twice delivered'))).toHaveLength(1);
    expect(telegram.chat(ALICE)).toHaveLength(2);
  });

  it('answers 202 to an event it does not list and runs nothing; 404 to an unknown path; 413 to a body over 1 MB', async () => {
    const before = stored();
    const push = JSON.stringify({ ref: 'refs/heads/main' });
    const ignored = await github(push, { 'x-github-event': 'push' });
    expect(ignored.status).toBe(202);
    expect(await ignored.json()).toMatchObject({ status: 'ignored' });
    expect((await deliver('nope', push, {})).status).toBe(404);
    const huge = JSON.stringify({ issue: { title: 'x', body: 'y'.repeat(1024 * 1024) } });
    expect((await github(huge)).status).toBe(413);
    expect(stored()).toBe(before);
  });

  it('takes a bearer hook with an Idempotency-Key, once', async () => {
    const body = JSON.stringify({ build: { id: 81 }, status: 'failed' });
    expect((await deliver('ci', body, { authorization: 'Bearer wrong-token' })).status).toBe(401);
    const key = { authorization: `Bearer ${TOKEN}`, 'idempotency-key': 'build-81' };
    expect((await deliver('ci', body, key)).status).toBe(202);
    expect(await (await deliver('ci', body, key)).json()).toMatchObject({ status: 'duplicate' });
    await eventually(() => telegram.chat(ALICE).length === 3 && t.gateway.store.outbox.pendingCount() === 0, 30_000, 'the CI answer');
    expect(telegram.chat(ALICE)[2]!.text).toBe('echo: Build 81 failed');
    expect(anthropic.prompts().filter((p) => p === 'Build 81 failed')).toHaveLength(1);
  });

  it("lists a conversation's schedules and webhooks in the HTTP API (no secrets), and /status counts them", async () => {
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: '/every weekdays at 9:00 daily digest of the repo' });
    await eventually(() => telegram.chat(ALICE).length === 4, 10_000, 'the schedule made');
    expect(telegram.chat(ALICE)[3]!.text).toMatch(/^Scheduled #1 \(cron <code>0 9 \* \* 1-5<\/code> \(UTC\)\)/);
    const res = await fetch(`${t.gateway.httpUrl}/v1/conversations/telegram:${ALICE}`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const detail = (await res.json()) as { schedules: { id: number; name: string; spec: string; status: string }[]; webhooks: unknown[] };
    expect(detail.schedules).toEqual([expect.objectContaining({ id: 1, name: 'daily digest of the repo', spec: '0 9 * * 1-5', status: 'active' })]);
    expect(detail.webhooks).toEqual([{ path: '/hooks/github', kind: 'github', events: ['issues'] }, { path: '/hooks/ci', kind: 'bearer', events: [] }]);
    expect(JSON.stringify(detail)).not.toContain(SECRET);
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: '/status' });
    await eventually(() => telegram.chat(ALICE).length === 5, 10_000, '/status');
    expect(telegram.chat(ALICE)[4]!.text).toContain('Schedules here: 1 active (<code>/jobs</code>). Webhooks into this conversation: 2.');
  });
});
