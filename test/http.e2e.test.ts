/**
 * The HTTP API with the real server and the real `claude` CLI: SSE event order, JSON mode, the
 * OpenAI-compatible endpoint through the official `openai` client, auth, parallel conversations,
 * idempotent retries, security headers, health, metrics and bad input.
 */
import fs from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, withApprovalTimeout, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import { readSse, type SseEvent } from './support/sse.js';
import { workspacePath } from '../src/workspace.js';

const fake = new AnthropicFake();
const KEY = 'cg_test_key_for_alice_0123456789';
const BOB_KEY = 'cg_test_key_for_bob_0123456789';
let t: TestGateway;
let url: string;
const auth = { authorization: `Bearer ${KEY}` };

beforeAll(async () => {
  await fake.start();
  t = await startTestGateway(fake, {
    config: { http: { enabled: true, port: 0, api_keys: [{ user: 'alice', sha256: sha256(KEY) }, { user: 'bob', sha256: sha256(BOB_KEY) }] } },
    adapters: (config) => [new HttpAdapter({ http: config.http })],
  });
  url = t.gateway.httpUrl!;
});
afterAll(async () => {
  await t?.stop();
  await fake.stop();
});

const client = () => new OpenAI({ baseURL: `${url}/v1`, apiKey: KEY, maxRetries: 0 });

function post(path: string, body: unknown, headers: Record<string, string> = auth): Promise<Response> {
  return fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

describe('approvals over HTTP', () => {
  it('streams an approval event; lists it for its owner only; 404 for another key (not theirs to see) and unknown ones, 200 to allow, then 409', async () => {
    const res = await post('/v1/conversations/ask/messages', { text: '[[tool Bash: echo hi > made.txt]]' });
    let checks: Promise<void> | undefined;
    const events = await readSse(res, (e) => {
      if (e.event !== 'approval') return;
      checks = (async () => {
        const request = e.data.approval;
        expect(request).toMatchObject({ kind: 'tool', tool: 'Bash', summary: 'run echo hi > made.txt', input: { command: 'echo hi > made.txt' }, status: 'pending' });
        const id = e.data.approvalId;
        expect(request.approval_id).toBe(id);
        const mine = await (await fetch(`${url}/v1/approvals`, { headers: auth })).json();
        expect(mine.data.map((a: any) => a.approval_id)).toEqual([id]);
        const bobs = await (await fetch(`${url}/v1/approvals`, { headers: { authorization: `Bearer ${BOB_KEY}` } })).json();
        expect(bobs.data).toEqual([]);
        // Bob names Alice's conversation by its full id: for him there is no such request.
        expect((await post(`/v1/conversations/http:alice:ask/approvals/${id}`, { decision: 'allow' }, { authorization: `Bearer ${BOB_KEY}` })).status).toBe(404);
        expect((await post(`/v1/conversations/ask/approvals/999999`, { decision: 'allow' })).status).toBe(404);
        expect((await post(`/v1/conversations/ask/approvals/${id}`, { decision: 'maybe' })).status).toBe(422);
        const allowed = await post(`/v1/conversations/ask/approvals/${id}`, { decision: 'allow' });
        expect(allowed.status).toBe(200);
        expect((await allowed.json()).approval).toMatchObject({ status: 'allowed', decided_by: 'alice' });
        expect((await post(`/v1/conversations/ask/approvals/${id}`, { decision: 'deny' })).status).toBe(409);
      })();
    });
    await checks;
    expect(events.some((e) => e.event === 'approval_update' && e.data.approval.status === 'allowed')).toBe(true);
    expect(events.at(-1)!.data).toMatchObject({ status: 'done', text: 'tool said: (Bash completed with no output)' });
  });

  it('the OpenAI-compatible endpoint cannot show buttons: a request is denied at once, and Claude is told why', async () => {
    const completion = await client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: '[[tool Bash: echo hi > made.txt]]' }] }, { headers: { 'x-conversation-id': 'openai-ask' } });
    expect(completion.choices[0]!.message.content).toMatch(/^tool said: The person is using a client that cannot show approval requests/);
    expect(t.gateway.store.approvals.pending()).toEqual([]);
  });

  /** Sends the Bash call to conversation `name`; each request is answered with all of `decisions` at once. */
  async function runAsking(name: string, ...decisions: object[]): Promise<{ events: SseEvent[]; statuses: number[]; made: string }> {
    const res = await post(`/v1/conversations/${name}/messages`, { text: '[[tool Bash: echo hi > made.txt]]' });
    let answered: Promise<number[]> = Promise.resolve([]);
    const events = await readSse(res, (e) => {
      if (e.event === 'approval') answered = Promise.all(decisions.map(async (d) => (await post(`/v1/conversations/${name}/approvals/${e.data.approvalId}`, d)).status));
    });
    const made = path.join(workspacePath(t.config.workspace.root, `http:alice:${name}`), 'made.txt');
    return { events, statuses: await answered, made };
  }

  it('deny with a message: nothing runs and Claude hears why; the same answer sent twice at once decides once (200, then 409)', async () => {
    const deny = { decision: 'deny', message: 'not on a Friday' };
    const { events, statuses, made } = await runAsking('deny', deny, deny);
    expect(statuses.sort()).toEqual([200, 409]);
    expect(events.at(-1)!.data.text).toMatch(/denied this in the chat, saying: not on a Friday/);
    expect(fs.existsSync(made)).toBe(false);
  });

  it('allow_always: the same call in the next turn runs without asking', async () => {
    const first = await runAsking('always', { decision: 'allow_always' });
    expect(first.statuses).toEqual([200]);
    fs.rmSync(first.made);
    const second = await runAsking('always');
    expect(second.events.filter((e) => e.event === 'approval')).toEqual([]);
    expect(second.events.at(-1)!.data).toMatchObject({ status: 'done', text: 'tool said: (Bash completed with no output)' });
    expect(fs.readFileSync(second.made, 'utf8')).toBe('hi\n');
  });

  it('a request nobody answers in time is denied: an approval_update says expired, and Claude says so', async () => {
    const { events, made } = await withApprovalTimeout(t, 1, () => runAsking('late'));
    expect(events.find((e) => e.event === 'approval_update')!.data.approval).toMatchObject({ status: 'expired' });
    expect(events.at(-1)!.data.text).toMatch(/Nobody answered within 1 second\b/);
    expect(fs.existsSync(made)).toBe(false);
  });

  it('answers a question with {"answers": ...}', async () => {
    const question = { questions: [{ question: 'Which database?', header: 'DB', multiSelect: false, options: [{ label: 'SQLite', description: 'a file' }, { label: 'Postgres', description: 'a server' }] }] };
    const res = await post('/v1/conversations/ask2/messages', { text: `[[call AskUserQuestion ${JSON.stringify(question)}]]` });
    let decided: Promise<Response> | undefined;
    const events = await readSse(res, (e) => {
      if (e.event === 'approval') decided = post(`/v1/conversations/ask2/approvals/${e.data.approvalId}`, { answers: { 'Which database?': 'Postgres' } });
    });
    expect((await decided!).status).toBe(200);
    expect(events.at(-1)!.data.text).toContain('"Which database?"="Postgres"');
  });
});

describe('POST /v1/conversations/{id}/messages', () => {
  it('streams the job as SSE: queued, started, text deltas, done with session and cost', async () => {
    fake.respond = (req) => (req.prompt === 'stream me' ? { text: 'a streamed answer in several pieces', chunkSize: 6, delayMs: 10 } : undefined);
    const res = await post('/v1/conversations/work/messages', { text: 'stream me' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const events = await readSse(res);
    fake.respond = undefined;
    const types = events.map((e) => e.event);
    expect(types[0]).toBe('queued');
    expect(types[1]).toBe('started');
    expect(types.at(-1)).toBe('done');
    const texts = events.filter((e) => e.event === 'text');
    expect(texts.length).toBeGreaterThan(3);
    expect(texts.map((e) => e.data.text).join('')).toBe('a streamed answer in several pieces');
    const done = events.at(-1)!.data;
    expect(done).toMatchObject({ status: 'done', text: 'a streamed answer in several pieces', conversation_id: 'http:alice:work' });
    expect(done.session_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(done.cost_usd).toBeGreaterThan(0);
  });

  it('answers with JSON when ?stream=false, and resumes the session', async () => {
    const res = await post('/v1/conversations/work/messages?stream=false', { text: 'second message' });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'done', text: 'echo: second message' });
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('a streamed answer in several pieces');
  });

  it('?wait=queued: 202 with the message id once it is stored, its answer streamed from its events URL; a command is answered whole', async () => {
    const res = await post('/v1/conversations/later/messages?wait=queued', { text: 'queued and gone' });
    expect(res.status).toBe(202);
    const queued = await res.json();
    expect(queued).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/), conversation_id: 'http:alice:later', message_id: expect.any(Number) });
    expect(queued.events).toBe(`/v1/conversations/later/messages/${queued.message_id}/events`);
    const events = await readSse(await fetch(`${url}${queued.events}`, { headers: auth }));
    expect(events.at(-1)).toMatchObject({ event: 'done', data: { status: 'done', text: 'echo: queued and gone', message_id: queued.message_id } });
    const command = await post('/v1/conversations/later/messages?wait=queued', { text: '/status' });
    expect(command.status).toBe(200);
    expect(await command.json()).toMatchObject({ status: 'handled', text: expect.any(String) });
  });

  it('accepts commands as text', async () => {
    const body = await (await post('/v1/conversations/work/messages?stream=false', { text: '/session' })).json();
    expect(body.status).toBe('handled');
    expect(body.text).toMatch(/^▶ #\d+ claude `[0-9a-f-]{36}`: 2 turns/);
  });

  it('runs two conversations in parallel', async () => {
    // Answers slow enough that two running one after the other could not overlap.
    fake.respond = (req) => (req.prompt.startsWith('parallel') ? { text: `done ${req.prompt} ${'.'.repeat(60)}`, chunkSize: 2, delayMs: 40 } : undefined);
    const both = await Promise.all(['p1', 'p2'].map(async (name) => (await post(`/v1/conversations/${name}/messages?stream=false`, { text: `parallel ${name}` })).json()));
    fake.respond = undefined;
    expect(both.map((b) => b.text.split(' ').slice(0, 3).join(' '))).toEqual(['done parallel p1', 'done parallel p2']);
    const [r1, r2] = ['parallel p1', 'parallel p2'].map((p) => fake.requests.find((r) => r.prompt === p)!);
    expect(r1!.at).toBeLessThan(r2!.finishedAt!);
    expect(r2!.at).toBeLessThan(r1!.finishedAt!);
  });
});

describe('Idempotency-Key', () => {
  const sendKeyed = (key: string, text: string, query = '?stream=false') =>
    post(`/v1/conversations/keyed/messages${query}`, { text }, { ...auth, 'idempotency-key': key });

  it('answers a retry with the first answer, waiting while it runs, streamed or not; never a second turn', async () => {
    fake.respond = (req) => (req.prompt === 'only once' ? { text: 'the one and only answer', chunkSize: 3, delayMs: 30 } : undefined);
    const streamed = sendKeyed('k-1', 'only once', '').then(readSse);
    await eventually(() => fake.prompts().includes('only once'), 30_000, 'the turn to start');
    // The retry comes while the turn runs: it waits for the same answer.
    const retry = await sendKeyed('k-1', 'only once');
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(await retry.json()).toMatchObject({ status: 'done', text: 'the one and only answer', replayed: true });
    expect((await streamed).at(-1)).toMatchObject({ event: 'done', data: { text: 'the one and only answer' } });
    // A streamed retry once it is finished: the whole text at once, then done.
    const replayed = await readSse(await sendKeyed('k-1', 'only once', ''));
    expect(replayed.map((e) => e.event)).toEqual(['text', 'done']);
    expect(replayed[0]!.data.text).toBe('the one and only answer');
    fake.respond = undefined;

    const reused = await sendKeyed('k-1', 'something else');
    expect(reused.status).toBe(422);
    expect((await reused.json()).error).toMatchObject({ code: 'idempotency_key_reused', message: expect.stringMatching(/use a new key/) });
    expect(fake.prompts().filter((p) => p === 'only once')).toHaveLength(1);
    expect(fake.prompts()).not.toContain('something else');
    const transcript = (await (await fetch(`${url}/v1/conversations/keyed`, { headers: auth })).json()).transcript;
    expect(transcript.map((r: any) => `${r.role}: ${r.text}`)).toEqual(['user: only once', 'assistant: the one and only answer']);
    // A key holds 255 characters at most.
    expect((await sendKeyed('k'.repeat(256), 'too long a key')).status).toBe(400);
  });

  it('holds for the OpenAI-compatible endpoint too, streamed or not', async () => {
    fake.respond = (req) => (req.prompt === 'openai once' ? { text: 'openai answered once', chunkSize: 3, delayMs: 20 } : undefined);
    // The openai package sends no Idempotency-Key of its own: a client that retries sets one.
    const keyed = (key: string) => ({ headers: { 'idempotency-key': key } });
    const ask = (content: string, key: string) =>
      client().chat.completions.create({ model: 'claude', user: 'oa-keyed', messages: [{ role: 'user', content }] }, keyed(key));
    const streamText = async (key: string) => {
      const stream = await client().chat.completions.create({ model: 'claude', user: 'oa-keyed', stream: true, messages: [{ role: 'user', content: 'openai once' }] }, keyed(key));
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      return text;
    };
    // Two streams with one key at once: the second waits for the first one's turn.
    expect(await Promise.all([streamText('oa-1'), streamText('oa-1')])).toEqual(['openai answered once', 'openai answered once']);
    const plain = await ask('openai once', 'oa-2');
    expect(plain.choices[0]!.message.content).toBe('openai answered once');
    expect(fake.prompts().filter((p) => p === 'openai once')).toHaveLength(2);
    expect((await ask('openai once', 'oa-2')).choices[0]!.message.content).toBe('openai answered once');
    fake.respond = undefined;
    expect(fake.prompts().filter((p) => p === 'openai once')).toHaveLength(2);
    await expect(ask('openai twice', 'oa-2')).rejects.toMatchObject({ status: 422 });
  });
});

describe('security headers', () => {
  it('come with the web chat, its assets, the JSON API and its errors: no framing, no sniffing, no referrer', async () => {
    for (const [path, headers] of [['/', {}], ['/app.js', {}], ['/app.css', {}], ['/v1/conversations', auth], ['/v1/conversations', {}], ['/nope', {}]] as const) {
      const res = await fetch(url + path, { headers });
      expect({ path, csp: res.headers.get('content-security-policy') }).toEqual({ path, csp: expect.stringContaining("frame-ancestors 'none'") });
      expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; .*object-src 'none'/);
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      await res.arrayBuffer();
    }
  });
});

describe('auth', () => {
  it('answers 401 with a JSON error without a key or with a wrong one', async () => {
    const none = await fetch(`${url}/v1/conversations`);
    expect(none.status).toBe(401);
    expect((await none.json()).error).toMatchObject({ code: 'missing_api_key', type: 'authentication_error' });
    const wrong = await fetch(`${url}/v1/conversations`, { headers: { authorization: 'Bearer cg_wrong' } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('invalid_api_key');
    const viaHeader = await fetch(`${url}/v1/conversations`, { headers: { 'x-api-key': KEY } });
    expect(viaHeader.status).toBe(200);
  });
});

describe('reading conversations', () => {
  it('lists conversations and returns one with its transcript; DELETE session is /new', async () => {
    const list = (await (await fetch(`${url}/v1/conversations`, { headers: auth })).json()).data;
    expect(list.map((c: any) => c.id)).toContain('http:alice:work');
    const detail = await (await fetch(`${url}/v1/conversations/work`, { headers: auth })).json();
    expect(detail.transcript.map((r: any) => r.role).slice(0, 4)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(detail.session.turns).toBe(2);
    const reset = await fetch(`${url}/v1/conversations/work/session`, { method: 'DELETE', headers: auth });
    expect((await reset.json()).text).toMatch(/Started a new session/);
    const after = await (await fetch(`${url}/v1/conversations/http:alice:work`, { headers: auth })).json();
    expect(after.session).toBeUndefined();
    expect((await fetch(`${url}/v1/conversations/nope`, { headers: auth })).status).toBe(404);
  });
});

describe('OpenAI-compatible endpoint, through the official openai client', () => {

  it('answers a chat completion, only the last user message reaching Claude', async () => {
    const completion = await client().chat.completions.create({
      model: 'claude',
      user: 'oa',
      messages: [{ role: 'system', content: 'be nice' }, { role: 'user', content: 'old turn' }, { role: 'assistant', content: 'x' }, { role: 'user', content: 'hello from openai' }],
    });
    expect(completion.choices[0]!.message.content).toBe('echo: hello from openai');
    expect(completion.usage!.total_tokens).toBeGreaterThan(0);
    expect(fake.prompts().at(-1)).toBe('hello from openai');
    expect(fake.prompts()).not.toContain('old turn');
  });

  it('streams a chat completion, in the conversation named by X-Conversation-Id', async () => {
    fake.respond = (req) => (req.prompt === 'stream openai' ? { text: 'streamed via openai', chunkSize: 5, delayMs: 5 } : undefined);
    const stream = await client().chat.completions.create(
      { model: 'claude', stream: true, messages: [{ role: 'user', content: 'stream openai' }] },
      { headers: { 'x-conversation-id': 'oa-stream' } },
    );
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta?.content ?? '';
      chunks++;
    }
    fake.respond = undefined;
    expect(text).toBe('streamed via openai');
    expect(chunks).toBeGreaterThan(3);
    expect(t.gateway.store.conversations.get('http:alice:oa-stream')).toBeDefined();
  });

  it('maps a failed turn to an API error', async () => {
    fake.respond = (req) => (req.prompt === 'fail openai' ? { status: 401 } : undefined);
    const failed = await client().chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'fail openai' }] }).catch((err) => err);
    // The engine's message as the chat shows it, without the chat's warning sign.
    expect(failed).toMatchObject({ status: 502, code: 'not_logged_in' });
    expect(failed.error.message).toMatch(/^[A-Z]/);
    fake.respond = undefined;
  });
});

describe('health and metrics', () => {
  it('reports database, queue and CLI health', async () => {
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.ok).toBe(true);
    expect(Object.keys(body.checks)).toEqual(['database', 'queue', 'cli']);
  });

  it('exposes Prometheus metrics', async () => {
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/^cligate_jobs_total\{outcome="done"\} \d+$/m);
    expect(text).toMatch(/^cligate_queue_depth 0$/m);
    expect(text).toMatch(/^cligate_job_duration_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^cligate_cli_cost_usd_total [0-9.e-]+$/m);
    expect(text).toMatch(/^cligate_messages_received_total\{adapter="http"\} \d+$/m);
  });
});

describe('bad input', () => {
  it('refuses a body over 1 MB, invalid UTF-8, invalid JSON and a missing text, and keeps serving', async () => {
    const big = await post('/v1/conversations/bad/messages', { text: 'x'.repeat(1024 * 1024 + 10) });
    expect(big.status).toBe(413);
    expect((await big.json()).error.code).toBe('body_too_large');
    const invalid = await fetch(`${url}/v1/conversations/bad/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: new Uint8Array([0x7b, 0x22, 0x74, 0xff, 0xfe, 0x22, 0x7d]) });
    expect(invalid.status).toBe(400);
    expect((await invalid.json()).error.code).toBe('invalid_encoding');
    const notJson = await post('/v1/conversations/bad/messages', '{text:');
    expect((await notJson.json()).error.code).toBe('invalid_json');
    const noText = await post('/v1/conversations/bad/messages', { message: 'hi' });
    expect(noText.status).toBe(400);
    const badName = await post('/v1/conversations/telegram:123/messages', { text: 'hi' });
    expect(badName.status).toBe(200); // SSE stream with an error event
    const events = await readSse(badName);
    expect(events.at(-1)).toMatchObject({ event: 'error' });
    const tooLong = await (await post('/v1/conversations/bad/messages?stream=false', { text: 'y'.repeat(30_000) })).json();
    expect(tooLong.text).toMatch(/30,000 characters long; the limit is 20,000/);
    const ok = await (await post('/v1/conversations/bad/messages?stream=false', { text: 'still alive' })).json();
    expect(ok.text).toBe('echo: still alive');
  });
});

describe('first start', () => {
  it('makes an API key when none is configured, and prints it once', async () => {
    const lines: string[] = [];
    const t2 = await startTestGateway(fake, {
      config: { http: { enabled: true, port: 0 } },
      adapters: (config) => [new HttpAdapter({ http: config.http, announce: (l) => lines.push(l) })],
    });
    try {
      const key = /made an API key for user "owner".*: (cg_\S+)/.exec(lines.join('\n'))?.[1];
      expect(key).toBeDefined();
      const res = await fetch(`${t2.gateway.httpUrl}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
      expect(await res.json()).toEqual({ user: 'owner', admin: true });
    } finally {
      await t2.stop();
    }
  });
});

describe('CORS', () => {
  it('is off by default, and answers configured origins only', async () => {
    const preflight = (base: string, origin: string) => fetch(`${base}/v1/conversations`, {
      method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    });
    expect((await preflight(url, 'https://app.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    const t2 = await startTestGateway(fake, {
      config: { http: { enabled: true, port: 0, cors_origins: ['https://app.example.com'], api_keys: [{ user: 'alice', sha256: sha256(KEY) }] } },
      adapters: (config) => [new HttpAdapter({ http: config.http })],
    });
    try {
      const allowed = await preflight(t2.gateway.httpUrl!, 'https://app.example.com');
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
      expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
      expect((await preflight(t2.gateway.httpUrl!, 'https://evil.example.com')).headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await t2.stop();
    }
  });
});

describe('who sees what', () => {
  const ADMIN_KEY = 'cg_test_key_for_the_admin_0123456789';
  let admin: TestGateway;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });
  beforeAll(async () => {
    admin = await startTestGateway(fake, {
      config: {
        http: { enabled: true, port: 0, api_keys: [{ user: 'alice', sha256: sha256(KEY) }, { user: 'bob', sha256: sha256(BOB_KEY) }, { user: 'root', sha256: sha256(ADMIN_KEY), admin: true }] },
        // Alice is one person on the web and on Telegram.
        people: { alice: { http: 'alice', telegram: '555' } },
        engine: { claude: { allowed_tools: ['Bash(echo activity-check)'] } },
      },
      adapters: (config) => [new HttpAdapter({ http: config.http })],
    });
    // Her Telegram chat, and a stranger's: stored as the Telegram adapter would.
    for (const [chat, user] of [['555', '555'], ['777', '777']] as const) {
      const conversation = admin.gateway.store.conversations.ensure({ platform: 'telegram', chatId: chat }, user);
      admin.gateway.store.messages.insert({
        conversation_id: conversation.id, platform: 'telegram', platform_message_id: `m${chat}`, request_sha256: null, user_id: user,
        user_key: user === '555' ? 'alice' : `telegram:${user}`, text: 'hi', attachments: null, reply_context: null, received_at: Date.now(), kind: 'prompt', status: 'done',
      });
    }
  });
  afterAll(() => admin?.stop());
  const get = (path: string, key: string) => fetch(admin.gateway.httpUrl + path, { headers: as(key) });

  it('a user key sees its own web conversations and its person\'s chats, nothing else (404); an admin key sees all', async () => {
    for (const [key, name] of [[KEY, 'mine'], [BOB_KEY, 'his']] as const) {
      await fetch(`${admin.gateway.httpUrl}/v1/conversations/${name}/messages?stream=false`, { method: 'POST', headers: { ...as(key), 'content-type': 'application/json' }, body: '{"text":"hello"}' });
    }
    const ids = async (key: string) => (await (await get('/v1/conversations', key)).json()).data.map((c: any) => c.id).sort();
    expect(await ids(KEY)).toEqual(['http:alice:mine', 'telegram:555']);
    expect(await ids(BOB_KEY)).toEqual(['http:bob:his']);
    expect(await ids(ADMIN_KEY)).toEqual(['http:alice:mine', 'http:bob:his', 'telegram:555', 'telegram:777']);
    expect((await get('/v1/conversations/telegram:555', KEY)).status).toBe(200);
    for (const path of ['/v1/conversations/telegram:777', '/v1/conversations/http:bob:his']) expect((await get(path, KEY)).status).toBe(404);
    expect((await get('/v1/conversations/http:alice:mine', BOB_KEY)).status).toBe(404);
    expect((await get('/v1/conversations/telegram:777', ADMIN_KEY)).status).toBe(200);
    expect(await (await get('/v1/me', ADMIN_KEY)).json()).toEqual({ user: 'root', admin: true });
  });

  it('a reconnecting event stream gets exactly what it missed, only what it may see; a lost message stream resumes to its answer', async () => {
    const ready = async (key: string) => (await readSse(await get('/v1/events', key), undefined, (e) => e.event === 'ready'))[0]!.data.lastEventId as string;
    const since = await ready(KEY);
    const answer = await (await fetch(`${admin.gateway.httpUrl}/v1/conversations/replayed/messages?stream=false`, {
      method: 'POST', headers: { ...as(KEY), 'content-type': 'application/json' }, body: JSON.stringify({ text: '[[reply: one two three four five six]]' }),
    })).json();
    const resume = (key: string, lastEventId: string, path = '/v1/events') =>
      fetch(admin.gateway.httpUrl + path, { headers: { ...as(key), 'last-event-id': lastEventId } });
    const isEnd = (e: SseEvent) => e.event === 'finished' && e.data.messageId === answer.message_id;

    const missed = (await readSse(await resume(KEY, since), undefined, isEnd)).filter((e) => e.id);
    expect(missed.map((e) => e.event)).toEqual(expect.arrayContaining(['queued', 'started', 'text', 'finished']));
    expect(missed.every((e) => e.data.conversationId === 'http:alice:replayed')).toBe(true);
    const seqs = missed.map((e) => Number(e.id!.split('-')[1]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(missed.filter((e) => e.event === 'text').map((e) => e.data.text).join('')).toBe('one two three four five six');
    // From the middle: exactly the rest.
    const middle = Math.floor(missed.length / 2);
    const rest = (await readSse(await resume(KEY, missed[middle]!.id!), undefined, isEnd)).filter((e) => e.id);
    expect(rest.map((e) => e.id)).toEqual(missed.slice(middle + 1).map((e) => e.id));
    // Bob, from the same point, is sent nothing of Alice's: only his own next message.
    const bobs = readSse(await resume(BOB_KEY, since), undefined, (e) => e.event === 'finished');
    await fetch(`${admin.gateway.httpUrl}/v1/conversations/his/messages?stream=false`, { method: 'POST', headers: { ...as(BOB_KEY), 'content-type': 'application/json' }, body: '{"text":"again"}' });
    expect(new Set((await bobs).filter((e) => e.id).map((e) => e.data.conversationId))).toEqual(new Set(['http:bob:his']));
    // An id from before a restart cannot be replayed: the client is told to reload.
    expect((await readSse(await resume(KEY, 'gone00-5'), undefined, (e) => e.event === 'reset')).at(-1)!.event).toBe('reset');

    // The message's own stream, lost after its first events, resumes with the rest and its answer.
    const messageEvents = `/v1/conversations/replayed/messages/${answer.message_id}/events`;
    const resumed = await readSse(await resume(KEY, missed[1]!.id!, messageEvents));
    expect(resumed.filter((e) => e.id).map((e) => e.id)).toEqual(missed.slice(2).map((e) => e.id));
    expect(resumed.at(-1)).toMatchObject({ event: 'done', data: { status: 'done', text: 'one two three four five six' } });
    // Too far back (or from another process): a finished message is told whole.
    expect((await readSse(await resume(KEY, 'gone00-5', messageEvents))).map((e) => e.event)).toEqual(['done']);
    expect((await resume(BOB_KEY, since, messageEvents)).status).toBe(404);
  });
  it('each answer\'s tool calls and full-text search, for what the key may read only', async () => {
    const post = (key: string, name: string, text: string) => fetch(`${admin.gateway.httpUrl}/v1/conversations/${name}/messages?stream=false`, {
      method: 'POST', headers: { ...as(key), 'content-type': 'application/json' }, body: JSON.stringify({ text }),
    }).then((r) => r.json());
    expect((await post(KEY, 'acts', '[[tool Bash: echo activity-check]]')).text).toBe('tool said: activity-check');
    const { data } = await (await get('/v1/conversations/acts/activity', KEY)).json();
    expect(data).toEqual([expect.objectContaining({ tool: 'Bash', summary: 'running: echo activity-check', result: 'activity-check', is_error: false })]);
    expect(data[0].duration_ms).toBeGreaterThanOrEqual(0);
    expect((await get('/v1/conversations/http:alice:acts/activity', BOB_KEY)).status).toBe(404);

    const hits = async (key: string, q: string) => (await (await get(`/v1/search?q=${encodeURIComponent(q)}`, key)).json()).data;
    expect((await hits(KEY, 'activity-check')).map((h: any) => h.conversation_id)).toContain('http:alice:acts');
    expect((await hits(KEY, 'activity-ch'))[0].snippet).toMatch(/\[activity\]/);
    expect(await hits(BOB_KEY, 'activity-check')).toEqual([]);
    expect((await hits(ADMIN_KEY, 'activity-check')).length).toBeGreaterThan(0);
    // What a person types is words, never search syntax.
    expect((await get(`/v1/search?q=${encodeURIComponent('" OR NEAR( *')}`, KEY)).status).toBe(200);
    expect((await get('/v1/search?q=', KEY)).status).toBe(400);
  });
});
