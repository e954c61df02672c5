/**
 * Long-term memory end to end: a real transformers.js model (built at set-up, loaded from disk,
 * offline) through the worker-thread embedder, sqlite-vec, recall into the prompt the Anthropic
 * stand-in receives, /forget, scopes, and Claude's own memory tools over MCP.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { gatewayPerTest, type TestGateway } from './support/gateway.js';
import { eventually, tmpDir } from './support/harness.js';
import { buildStaticModel, type StaticModel } from './support/static-model.js';
import type { ClaudeEngine } from '../src/engine/claude/index.js';

const fake = new AnthropicFake();
const start = gatewayPerTest(fake);
let model: StaticModel;

beforeAll(() => {
  model = buildStaticModel(path.join(tmpDir('cligate-models-'), 'models'));
});

function gateway(memory: Record<string, unknown> = {}, live = true, sandbox = 'auto'): Promise<TestGateway> {
  return start({
    config: {
      live: { enabled: live },
      memory: { enabled: true, model: model.id, cache_dir: model.root, offline: true, dtype: 'fp32', auto: 'off', mcp: 'off', min_score: 0.3, ...memory },
      sandbox: { mode: sandbox },
    },
  });
}

async function say(t: TestGateway, chat: string, text: string, userId = 'alice'): Promise<string> {
  const before = t.adapter.finals(chat).length;
  await t.adapter.host!.receive({ address: { platform: 'local', chatId: chat }, userId, text, messageId: `${chat}-${Math.random()}` });
  await eventually(() => t.adapter.finals(chat).length > before, 30_000, `reply to "${text}"`);
  return t.adapter.finals(chat).at(-1)!;
}

/** Everything the CLI sent to the API in its last request: system prompt and messages. */
const lastRequest = () => JSON.stringify(fake.requests.at(-1)!.body);

describe('memory', () => {
  it('recalls a stored fact into a later fresh session, and leaves an unrelated one out', async () => {
    const t = await gateway();
    expect(await say(t, 'M', '/remember My favourite colour is teal.')).toBe('Remembered (#1).');
    expect(await say(t, 'M', '/remember The deploy script lives in the ops folder.')).toBe('Remembered (#2).');
    await say(t, 'M', '/new');
    expect(await say(t, 'M', 'What is my favourite colour?')).toBe('echo: What is my favourite colour?');
    const request = lastRequest();
    expect(request).toContain('My favourite colour is teal.');
    expect(request).not.toContain('deploy script');
    // A fresh session: the memory came from cligate, not from Claude's history.
    expect(fake.requests.at(-1)!.body.messages.filter((m: any) => m.role === 'user')).toHaveLength(1);
  });

  it('gives recalled memories to a one-shot CLI in its system prompt', async () => {
    const t = await gateway({}, false);
    await say(t, 'O', '/remember My dog is called Biscuit.');
    await say(t, 'O', "What is my dog's name?");
    expect(fake.requests.at(-1)!.system).toContain('My dog is called Biscuit.');
  });

  it('lists and searches memories, merges a near-duplicate, forgets one by id', async () => {
    const t = await gateway();
    await say(t, 'L', '/remember I work as a designer in Berlin.');
    expect(await say(t, 'L', '/remember I work as a designer in Berlin!')).toBe('I already knew something very close; memory #1 now says that.');
    await say(t, 'L', '/remember My favourite coffee is a flat white.');
    expect(await say(t, 'L', '/memory')).toMatch(/^Recent memories \(newest first\):\n• #2 My favourite coffee is a flat white\. _\(explicit, 0 min ago\)_\n• #1 I work as a designer in Berlin!/);
    expect(await say(t, 'L', '/memory designer job')).toMatch(/^Memories closest to "designer job":\n• #1 \(0\.\d\d\) I work as a designer/);
    expect(await say(t, 'L', '/forget #2')).toBe('Forgot memory #2.');
    expect(await say(t, 'L', '/forget 99')).toMatch(/There is no memory #99 of yours here/);
  });

  it('/forget asks first, then removes the sessions and the memories, rows and vectors', async () => {
    const t = await gateway();
    await say(t, 'F', '/remember My birthday is in March.');
    await say(t, 'F', 'hello there');
    expect(await say(t, 'F', '/forget')).toMatch(/deletes this conversation's Claude sessions and its 1 memory\. Send `\/forget confirm`/);
    expect(await say(t, 'F', '/forget confirm')).toBe('Forgotten: 1 session and 1 memory deleted. Your next message starts afresh.');
    const db = t.gateway.store.db.raw;
    expect(db.prepare('select count(*) n from memories').get()).toEqual({ n: 0 });
    expect(db.prepare('select count(*) n from memory_vectors').get()).toEqual({ n: 0 });
    expect(db.prepare(`select count(*) n from memory_bits_${model.dimension}`).get()).toEqual({ n: 0 });
    await say(t, 'F', 'when is my birthday?');
    expect(lastRequest()).not.toContain('March');
  });

  it('scope "conversation" keeps memories apart; scope "user" shares one person\'s across conversations', async () => {
    let t = await gateway({ scope: 'conversation' });
    await say(t, 'S1', '/remember I am allergic to peanuts.');
    await say(t, 'S2', 'Am I allergic to peanuts?');
    expect(lastRequest()).not.toContain('allergic to peanuts.');

    t = await gateway({ scope: 'user' });
    await say(t, 'U1', '/remember I am allergic to peanuts.');
    await say(t, 'U2', 'Am I allergic to peanuts?');
    expect(lastRequest()).toContain('I am allergic to peanuts.');
    // Another person does not see it.
    await say(t, 'U3', 'Am I allergic to peanuts?', 'bob');
    expect(lastRequest()).not.toContain('I am allergic to peanuts.');
  });

  it('stores a short note of each answered exchange when memory.auto = "exchange"', async () => {
    const t = await gateway({ auto: 'exchange' });
    await say(t, 'A', 'Please remind me the project is called Nightingale');
    // The note is written after the answer goes out, so that the person does not wait for the embedding.
    const rows = () => t.gateway.store.db.raw.prepare('select text, source from memories').all();
    await eventually(() => rows().length > 0, 10_000, 'the automatic memory');
    expect(rows()).toEqual([{ source: 'automatic', text: 'Asked: "Please remind me the project is called Nightingale". Answered: "echo: Please remind me the project is called Nightingale"' }]);
  });

  it('says clearly when the model cannot be loaded, and keeps answering without memory', async () => {
    const t = await gateway({ model: 'nowhere/missing-model' });
    const reply = await say(t, 'X', '/remember something');
    expect(reply).toMatch(/^Long-term memory is off: the embedding model nowhere\/missing-model could not be loaded \(.+\)\. cligate looked in .+nowhere\/missing-model \(memory\.offline is on, so nowhere else\)\. To fix it, .+ Answers go on without it\.$/);
    expect(await say(t, 'X', 'still answering?')).toBe('echo: still answering?');
  });

  // `cligate mcp` (stdio) opens the database, which no sandboxed CLI can reach: under bubblewrap the
  // gateway serves the tools over http instead, so stdio itself is tried without a sandbox.
  it.each([['http', 'auto'], ['stdio', 'none'], ['stdio', 'auto']])('lets Claude remember and recall through its MCP tools (%s, sandbox %s)', async (mcp, sandbox) => {
    const t = await gateway({ mcp }, true, sandbox);
    await say(t, 'T', 'warm up');
    let step = 0;
    fake.respond = (req) => {
      if (req.prompt !== 'note that I prefer tea' || req.toolResult !== undefined) return undefined;
      step++;
      return { toolUse: { name: 'mcp__memory__remember', input: { text: 'The user prefers tea over coffee.' } } };
    };
    const reply = await say(t, 'T', 'note that I prefer tea');
    expect(step).toBe(1);
    expect(reply).toMatch(/^tool said: Remembered as #\d+\.$/);
    expect(t.gateway.store.db.raw.prepare('select text, source from memories').all()).toEqual([{ text: 'The user prefers tea over coffee.', source: 'tool' }]);
    fake.respond = (req) => (req.prompt === 'what do I drink?' && req.toolResult === undefined ? { toolUse: { name: 'mcp__memory__recall', input: { query: 'what drink does the user prefer, tea or coffee' } } } : undefined);
    expect(await say(t, 'T', 'what do I drink?')).toMatch(/^tool said: #\d+ \(0\.\d+\) The user prefers tea over coffee\.$/);
  });

  it('gives a spare process memory tools that are bound to the conversation that takes it', async () => {
    const t = await start({
      config: {
        live: { enabled: true, spares: 1 },
        memory: { enabled: true, model: model.id, cache_dir: model.root, offline: true, dtype: 'fp32', auto: 'off', mcp: 'http', min_score: 0.3 },
      },
    });
    const pool = (t.gateway.engines!.get('claude') as ClaudeEngine).livePool!;
    await say(t, 'A', 'warm up'); // the first new session: spares are made with its flags, memory tools included
    await eventually(() => pool.waitingSpares.length === 1, 20_000, 'a spare');
    const spare = pool.waitingSpares[0]!;
    fake.respond = (req) => (req.prompt === 'note that I prefer tea' && req.toolResult === undefined ? { toolUse: { name: 'mcp__memory__remember', input: { text: 'The user prefers tea over coffee.' } } } : undefined);
    expect(await say(t, 'B', 'note that I prefer tea')).toMatch(/^tool said: Remembered as #\d+\.$/);
    expect(pool.processOf('local:B')?.pid).toBe(spare.pid);
    expect(t.gateway.store.db.raw.prepare('select scope, conversation_id from memories').all()).toEqual([{ scope: 'conversation:local:B', conversation_id: 'local:B' }]);
    // Its URL is the conversation's from now on: the follow-up stays in the same process.
    await say(t, 'B', 'and again');
    expect(pool.processOf('local:B')?.pid).toBe(spare.pid);
  });
});
