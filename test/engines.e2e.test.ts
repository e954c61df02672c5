/**
 * Codex and Gemini beside Claude: the real `codex` and `gemini` CLIs (optional npm dependencies)
 * against loopback stand-ins of the OpenAI Responses API and the Gemini API. A conversation on each
 * engine, resume across two messages, /engine switching, API errors and a missing CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { GeminiFake, OpenAiFake } from './support/engine-fakes.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { eventually, tmpDir } from './support/harness.js';
import { conversationHome } from '../src/sandbox/homes.js';

const anthropic = new AnthropicFake();
const openai = new OpenAiFake();
const gemini = new GeminiFake();
let t: TestGateway;

/** Home folders that make both CLIs run offline against the stand-ins. */
function engineConfig(home: string) {
  fs.mkdirSync(path.join(home, '.codex'), { recursive: true });
  fs.mkdirSync(path.join(home, '.gemini'), { recursive: true });
  fs.writeFileSync(path.join(home, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
  return {
    codex: {
      enabled: true, model: 'gpt-fake',
      // codex ignores OPENAI_BASE_URL: a custom model provider points it at the stand-in, with no retries.
      extra_args: ['-c', 'model_provider=fake', '-c', `model_providers.fake={name="fake",base_url="${openai.url}/v1",env_key="OPENAI_API_KEY",wire_api="responses",request_max_retries=0,stream_max_retries=0}`],
      env: { HOME: home, CODEX_HOME: path.join(home, '.codex'), OPENAI_API_KEY: 'sk-fake-openai' },
    },
    gemini: {
      enabled: true, model: 'gemini-2.5-flash',
      env: { HOME: home, GEMINI_API_KEY: 'fake-gemini-key', GOOGLE_GEMINI_BASE_URL: gemini.url },
    },
  };
}

beforeAll(async () => {
  await Promise.all([anthropic.start(), openai.start(), gemini.start()]);
  t = await startTestGateway(anthropic, { config: { engine: engineConfig(tmpDir('cligate-home-')) } });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), openai.stop(), gemini.stop()]);
});

async function say(chat: string, text: string): Promise<string> {
  const before = t.adapter.finals(chat).length;
  await t.adapter.say(chat, text);
  await eventually(() => t.adapter.finals(chat).length > before, 60_000, `reply to "${text}"`);
  return t.adapter.finals(chat).at(-1)!;
}

describe('Codex engine', () => {
  it('answers, and resumes the thread for the second message', async () => {
    expect(await say('CX', '/engine codex')).toBe('Switched to codex; your next message starts its session. The claude session is kept (`/session list`, `/engine claude`).');
    expect(await say('CX', 'hello codex')).toBe('echo: hello codex');
    expect(await say('CX', 'second for codex')).toBe('echo: second for codex');
    expect(openai.requests.at(-1)!.history).toEqual(['hello codex', 'second for codex']);
    const [session] = t.gateway.store.conversations.sessions('local:CX');
    expect(session).toMatchObject({ engine: 'codex', turns: 2 });
    // The gateway's context reaches Codex as developer instructions.
    expect(JSON.stringify(openai.requests.at(-1)!.body)).toContain('You are answering through cligate');
  });

  it('maps an API error to a clear reply, and keeps working', async () => {
    await say('CE', '/engine codex');
    expect(await say('CE', 'fail please [[status 401]]')).toMatch(/^⚠️ The Codex CLI is not logged in, or its key was refused\. On the gateway machine run `codex login`/);
    expect(await say('CE', 'fine again')).toBe('echo: fine again');
  });
});

describe('Gemini engine', () => {
  it('answers, and resumes the session for the second message', async () => {
    await say('GM', '/engine gemini');
    // Gemini has no system-prompt option: the first turn of a session carries the gateway's context.
    expect(await say('GM', 'hello gemini')).toMatch(/^echo: <context>\nYou are answering through cligate[\s\S]*<\/context>\n\nhello gemini$/);
    expect(await say('GM', 'second for gemini')).toBe('echo: second for gemini');
    const history = gemini.requests.at(-1)!.history;
    expect(history.some((h) => h.includes('hello gemini'))).toBe(true);
    expect(history.at(-1)).toBe('second for gemini');
    expect(t.gateway.store.conversations.sessions('local:GM')[0]).toMatchObject({ engine: 'gemini', turns: 2 });
  });

  it('maps an API error to a clear reply', async () => {
    await say('GE', '/engine gemini');
    expect(await say('GE', 'no access [[status 403]]')).toMatch(/^⚠️ The Gemini CLI is not logged in, or its key was refused\./);
  });
});

describe('sessions from before per-conversation CLI homes', () => {
  // Codex and Gemini sessions are not moved into a conversation's own CLI home (only Claude's are):
  // a conversation whose session is not there goes on in a new session, and says so. (Gemini does
  // too, but its failed resume takes most of a minute here, so only Codex is in the suite.)
  it.each([['codex', 'OC']])('%s: a session the CLI home lacks starts afresh, with a notice', async (engine, chat) => {
    await say(chat, `/engine ${engine}`);
    expect(await say(chat, `first for ${engine}`)).toMatch(new RegExp(`^echo: [\\s\\S]*first for ${engine}$`));
    fs.rmSync(conversationHome(t.config.gateway.data_dir, engine as 'codex' | 'gemini', `local:${chat}`), { recursive: true, force: true });
    const reply = await say(chat, `second for ${engine}`);
    expect(reply).toMatch(new RegExp(`^echo: [\\s\\S]*second for ${engine}\\n\\n_The previous .* session could not be found, so this answer starts a new session\\._$`));
  });
});

describe('/engine', () => {
  it('switches engines, keeping each engine\'s session, and lists both', async () => {
    expect(await say('SW', 'first with claude')).toBe('echo: first with claude');
    expect(await say('SW', '/engine')).toBe('This conversation uses claude. Enabled here: claude, codex, gemini. Switch with `/engine <name>`.');
    await say('SW', '/engine codex');
    expect(await say('SW', 'now codex')).toBe('echo: now codex');
    expect(await say('SW', '/engine claude')).toMatch(/^Switched to claude, continuing its session #\d+\./);
    expect(await say('SW', 'back to claude')).toBe('echo: back to claude');
    // Claude's session went on where it was.
    expect(JSON.stringify(anthropic.requests.at(-1)!.body.messages)).toContain('first with claude');
    const list = await say('SW', '/session list');
    expect(list).toMatch(/▶ #\d+ claude `[0-9a-f-]{36}`: 2 turns/);
    expect(list).toMatch(/• #\d+ codex `[0-9a-f-]+`: 1 turn/);
    expect(await say('SW', '/engine llama')).toBe('There is no engine "llama". Enabled: claude, codex, gemini.');
  });

  it('gives a clear message when a chosen engine\'s CLI is missing', async () => {
    const t2 = await startTestGateway(anthropic, { config: { engine: { gemini: { enabled: true, path: '/nonexistent/gemini' } } } });
    try {
      await t2.adapter.say('MG', '/engine gemini');
      await t2.adapter.say('MG', 'hello?');
      await eventually(() => t2.adapter.finals('MG').length === 2, 20_000, 'reply');
      expect(t2.adapter.finals('MG')[1]).toBe("⚠️ The Gemini CLI could not be started (not found: /nonexistent/gemini). It is an optional dependency: run `npm install @google/gemini-cli` in cligate's folder, or set engine.gemini.path to your `gemini` binary.");
    } finally {
      await t2.stop();
    }
  });
});
