/**
 * The core path in one process, with the real `claude` CLI against the Anthropic stand-in and the
 * embedded SQLite queue: order and parallelism, streaming, retries, commands and bad input.
 */
import { describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { gatewayPerTest, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';

const fake = new AnthropicFake();
const start = gatewayPerTest(fake);
const gateway = (config: Record<string, unknown> = {}): Promise<TestGateway> => start({ config });

describe('queue: order and parallelism', () => {
  it('runs two conversations in parallel while three messages of one run strictly in order', async () => {
    const { adapter } = await gateway({ worker: { concurrency: 4 } });
    // Every answer takes a while, so overlaps would show.
    fake.respond = (req) => ({ text: `echo: ${req.prompt}`, chunkSize: 4, delayMs: 25 });
    for (const text of ['A1 first', 'A2 second', 'A3 third']) await adapter.say('A', text);
    await adapter.say('B', 'B1 only');

    await eventually(() => adapter.finals('A').length === 3 && adapter.finals('B').length === 1, 40_000, 'all answers');
    expect(adapter.finals('A')).toEqual(['echo: A1 first', 'echo: A2 second', 'echo: A3 third']);
    expect(adapter.finals('B')).toEqual(['echo: B1 only']);

    const byPrompt = (p: string) => fake.requests.find((r) => r.prompt === p)!;
    const [a1, a2, a3, b1] = ['A1 first', 'A2 second', 'A3 third', 'B1 only'].map(byPrompt);
    // One conversation: each request starts after the previous one's answer ended.
    expect(a2!.at).toBeGreaterThanOrEqual(a1!.finishedAt!);
    expect(a3!.at).toBeGreaterThanOrEqual(a2!.finishedAt!);
    // Two conversations: B did not wait behind A (it started before A's second message could).
    expect(b1!.at).toBeLessThan(a2!.at);
  });
});

describe('streaming', () => {
  it('posts a draft as soon as text arrives, edits it as the answer grows, and ends with the full text', async () => {
    const { adapter } = await gateway();
    fake.respond = () => ({ text: 'word '.repeat(60).trim(), chunkSize: 10, delayMs: 40 });
    await adapter.say('S', 'stream please');
    await eventually(() => adapter.finals('S').length === 1, 30_000, 'final answer');
    const calls = adapter.calls.filter((c) => c.chatId === 'S' && c.op !== 'typing');
    expect(calls[0]!.op).toBe('post');
    expect(calls[0]!.reply!.partial).toBe(true);
    const partials = calls.filter((c) => c.reply?.partial);
    expect(partials.length).toBeGreaterThan(2);
    // Every edit is of the same message, and the last one is the final text.
    expect(new Set(calls.map((c) => c.ref))).toEqual(new Set([calls[0]!.ref]));
    expect(calls.at(-1)!.reply).toMatchObject({ partial: false, markdown: 'word '.repeat(60).trim() });
    expect(adapter.calls.some((c) => c.op === 'typing' && c.chatId === 'S')).toBe(true);
  });

  it('shows tool activity as a status line that the answer replaces', async () => {
    const { adapter } = await gateway();
    await adapter.say('T', 'list things [[tool Bash: echo tool-output-here]]');
    await eventually(() => adapter.finals('T').length === 1, 30_000, 'final answer');
    const withStatus = adapter.calls.find((c) => c.chatId === 'T' && c.reply?.status);
    expect(withStatus?.reply?.status).toBe('running: echo tool-output-here');
    expect(adapter.finals('T')[0]).toBe('tool said: tool-output-here');
  });
});

describe('engine failures', () => {
  it('retries a 529 and a 429 from the API, then answers', async () => {
    const { adapter } = await gateway();
    fake.script.push({ status: 529 }, { status: 429 });
    await adapter.say('R', 'try hard');
    await eventually(() => adapter.finals('R').length === 1, 30_000, 'answer');
    expect(adapter.finals('R')[0]).toBe('echo: try hard');
    expect(fake.prompts().filter((p) => p === 'try hard')).toHaveLength(3);
    // The person saw why it took longer.
    expect(adapter.calls.some((c) => c.chatId === 'R' && /overloaded right now \(529\)\. Retrying in/.test(c.reply?.status ?? ''))).toBe(true);
  });

  it('gives up on a persistent 429 with a clear message, and the conversation keeps working', async () => {
    const { adapter } = await gateway();
    fake.respond = (req) => (req.prompt.includes('limited') ? { status: 429 } : undefined);
    await adapter.say('L', 'limited please');
    await eventually(() => adapter.finals('L').length === 1, 30_000, 'error reply');
    expect(adapter.finals('L')[0]).toMatch(/rate-limiting this account \(429\)\. I tried 3 times/);
    await adapter.say('L', 'fine now');
    await eventually(() => adapter.finals('L').length === 2, 30_000, 'next answer');
    expect(adapter.finals('L')[1]).toBe('echo: fine now');
  });

  it('says how to fix a missing CLI', async () => {
    const { adapter } = await gateway({ engine: { claude: { path: '/nonexistent/bin/claude' } } });
    await adapter.say('M', 'hello?');
    await eventually(() => adapter.finals('M').length === 1, 10_000, 'error reply');
    expect(adapter.finals('M')[0]).toMatch(/Claude Code CLI could not be started.*npm install.*engine\.claude\.path/s);
  });

  it('says how to log in when the API rejects the credentials', async () => {
    const { adapter } = await gateway();
    fake.respond = () => ({ status: 401 });
    await adapter.say('N', 'who am i');
    await eventually(() => adapter.finals('N').length === 1, 20_000, 'error reply');
    expect(adapter.finals('N')[0]).toMatch(/not logged in.*\/login.*ANTHROPIC_API_KEY.*CLAUDE_CODE_OAUTH_TOKEN/s);
  });

  it('starts a fresh session, and says so, when the session to resume is gone', async () => {
    const t = await gateway();
    await t.adapter.say('G', 'first');
    await eventually(() => t.adapter.finals('G').length === 1, 20_000, 'first answer');
    const store = t.gateway.store;
    store.db.raw.prepare("update sessions set engine_session_id = '00000000-0000-4000-8000-000000000000'").run();
    await t.adapter.say('G', 'second');
    await eventually(() => t.adapter.finals('G').length === 2, 20_000, 'second answer');
    expect(t.adapter.finals('G')[1]).toMatch(/^echo: second\n\n_The previous Claude session could not be found/);
  });
});

describe('commands and bad input', () => {
  it('answers commands without asking Claude, and /new starts a fresh session', async () => {
    const t = await gateway();
    const { adapter } = t;
    await adapter.say('C', 'remember the number 7');
    await eventually(() => adapter.finals('C').length === 1, 20_000, 'answer');
    await adapter.say('C', '/session');
    await eventually(() => adapter.finals('C').length === 2, 5_000, '/session');
    expect(adapter.finals('C')[1]).toMatch(/#1 claude `[0-9a-f-]{36}`: 1 turn/);
    await adapter.say('C', '/new');
    await eventually(() => adapter.finals('C').length === 3, 5_000, '/new');
    expect(adapter.finals('C')[2]).toMatch(/Started a new session/);
    await adapter.say('C', 'what number?');
    await eventually(() => adapter.finals('C').length === 4, 20_000, 'answer');
    // A fresh session: the request carries no history.
    expect(fake.requests.at(-1)!.body.messages.map((m: any) => JSON.stringify(m.content)).join()).not.toContain('number 7');
    await adapter.say('C', '/session list');
    await eventually(() => adapter.finals('C').length === 5, 5_000, '/session list');
    expect(adapter.finals('C')[4]!.split('\n').filter((l) => /^[▶•] #\d/.test(l))).toHaveLength(2);
    await adapter.say('C', '/frobnicate');
    await eventually(() => adapter.finals('C').length === 6, 5_000, 'unknown command');
    expect(adapter.finals('C')[5]).toMatch(/^Unknown command \/frobnicate\. Commands: \/new/);
    await adapter.say('C', '/help');
    await eventually(() => adapter.finals('C').length === 7, 5_000, '/help');
    expect(adapter.finals('C')[6]).toContain('`/stop`');
    expect(fake.prompts().filter((p) => p.startsWith('/'))).toEqual([]);
  });

  it('/stop cancels the running answer and drops the queued ones', async () => {
    const { adapter } = await gateway();
    fake.respond = (req) => (req.prompt.startsWith('slow') ? { text: 'x '.repeat(400), chunkSize: 2, delayMs: 20 } : undefined);
    await adapter.say('X', 'slow one');
    await adapter.say('X', 'queued behind');
    await eventually(() => adapter.calls.some((c) => c.chatId === 'X' && c.op === 'post'), 20_000, 'draft');
    await adapter.say('X', '/stop');
    await eventually(() => adapter.finals('X').length === 2, 10_000, 'stop reply and stopped draft');
    const finals = adapter.finals('X');
    expect(finals[0]).toMatch(/_\(stopped\)_$/);
    expect(finals[1]).toBe('Stopping the answer being written. Dropped 1 queued message.');
    await new Promise((r) => setTimeout(r, 500));
    expect(fake.prompts()).not.toContain('queued behind');
  });

  it('refuses an empty or oversized message with a reason, and keeps going', async () => {
    const { adapter } = await gateway({ limits: { max_message_chars: 100 } });
    await adapter.say('B', '   ');
    await adapter.say('B', 'y'.repeat(101));
    await adapter.say('B', 'ok');
    await eventually(() => adapter.finals('B').length === 3, 20_000, 'three replies');
    const [empty, long, ok] = adapter.finals('B');
    expect(empty).toMatch(/empty/);
    expect(long).toMatch(/101 characters long; the limit is 100 \(limits\.max_message_chars\)/);
    expect(ok).toBe('echo: ok');
  });

  it('drops a message seen before (same platform id)', async () => {
    const t = await gateway();
    const message = { address: { platform: 'local' as const, chatId: 'D' }, userId: 'u', text: 'once', messageId: 'same-id' };
    expect((await t.adapter.host!.receive(message)).status).toBe('accepted');
    expect((await t.adapter.host!.receive(message)).status).toBe('duplicate');
    await eventually(() => t.adapter.finals('D').length === 1, 20_000, 'answer');
    await new Promise((r) => setTimeout(r, 300));
    expect(t.adapter.finals('D')).toEqual(['echo: once']);
  });
});
