/**
 * Matrix end to end: real matrix-js-sdk against a loopback homeserver stand-in, the real `claude`
 * CLI against the Anthropic stand-in. One gateway for the whole file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceAfter } from '../../src/reply/chunk.js';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake, longMarkdown } from '../../test/support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { MatrixFake } from '../../test/support/matrix-fake.js';
import { MatrixAdapter } from './index.js';

const anthropic = new AnthropicFake();
const matrix = new MatrixFake();
let t: TestGateway;
const ALICE = '@alice:fake.local';
const STRANGER = '@mallory:fake.local';
const DM = '!dm-alice:fake.local';
const ROOM = '!team:fake.local';

function idle(): boolean {
  const counts = t.gateway.store.messages.counts();
  return !counts.running && !counts.queued && t.gateway.store.outbox.pendingCount() === 0;
}

const text = (body: string) => ({ msgtype: 'm.text', body });

beforeAll(async () => {
  await Promise.all([anthropic.start(), matrix.start()]);
  matrix.room(DM, [ALICE]);
  matrix.room(ROOM, [ALICE, STRANGER, '@bob:fake.local']);
  t = await startTestGateway(anthropic, {
    config: { matrix: { homeserver_url: matrix.url, access_token: matrix.token, user_id: matrix.botUserId, allowed_users: [ALICE] } },
    adapters: (config) => [new MatrixAdapter(config.matrix)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), matrix.stop()]);
});

describe('Matrix', () => {
  it('answers a DM, typing first, streaming by m.replace edits, as Markdown and Matrix HTML', async () => {
    anthropic.respond = (req) => (req.prompt === 'hello from a dm' ? { text: 'a **streamed** reply in small pieces', chunkSize: 5, delayMs: 60 } : undefined);
    matrix.say(DM, ALICE, text('hello from a dm'));
    await eventually(() => matrix.botMessages(DM).length === 1 && idle(), 30_000, 'dm answer');
    anthropic.respond = undefined;
    const [reply] = matrix.botMessages(DM);
    expect(reply!.text).toBe('a **streamed** reply in small pieces');
    expect(reply!.html).toBe('a <strong>streamed</strong> reply in small pieces');
    expect(reply!.edits).toBeGreaterThan(0);
    expect(reply!.threadId).toBeUndefined();
    expect(matrix.callsTo('PUT', /\/rooms\/!dm-alice:fake\.local\/typing\//).length).toBeGreaterThan(0);
  });

  it('answers a mention in a room in a thread started from it; the thread continues without mentions', async () => {
    const mention = matrix.say(ROOM, ALICE, { ...text('cligate: what is in the thread?'), 'm.mentions': { user_ids: [matrix.botUserId] } });
    await eventually(() => matrix.botMessages(ROOM).some((m) => m.text === 'echo: what is in the thread?') && idle(), 30_000, 'thread answer');
    const answer = matrix.botMessages(ROOM).find((m) => m.text === 'echo: what is in the thread?')!;
    expect(answer.threadId).toBe(mention.event_id);

    matrix.say(ROOM, ALICE, { ...text('and a follow-up'), 'm.relates_to': { rel_type: 'm.thread', event_id: mention.event_id, is_falling_back: true, 'm.in_reply_to': { event_id: answer.event_id } } });
    await eventually(() => matrix.botMessages(ROOM).some((m) => m.text === 'echo: and a follow-up') && idle(), 30_000, 'follow-up in thread');
    expect(matrix.botMessages(ROOM).find((m) => m.text === 'echo: and a follow-up')!.threadId).toBe(mention.event_id);
    expect(JSON.stringify(anthropic.requests.at(-1)!.body.messages)).toContain('echo: what is in the thread?');

    // Messages in the room without a mention are not for the bot.
    const before = anthropic.prompts().length;
    matrix.say(ROOM, ALICE, text('people talking among themselves'));
    await new Promise((r) => setTimeout(r, 500));
    expect(anthropic.prompts().length).toBe(before);
  });

  it('splits a 6,000-character answer into several messages, code blocks intact, <pre> in the HTML', async () => {
    anthropic.respond = (req) => (req.prompt === 'long answer please' ? { text: longMarkdown(6000), chunkSize: 800 } : undefined);
    const before = matrix.botMessages(DM).length;
    matrix.say(DM, ALICE, text('long answer please'));
    await eventually(() => matrix.botMessages(DM).length >= before + 2 && idle(), 30_000, 'long answer');
    anthropic.respond = undefined;
    const parts = matrix.botMessages(DM).slice(before);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) {
      expect(part.text.length).toBeLessThanOrEqual(4000);
      expect(fenceAfter(part.text, undefined)).toBeUndefined();
    }
    expect(parts.map((p) => p.text).join('\n')).toContain('```ts\nconst value3_0');
    expect(parts.map((p) => p.html).join('')).toMatch(/<pre><code class="language-ts">const value\d+_0/);
  });

  it('answers commands like any other channel', async () => {
    const before = matrix.botMessages(DM).length;
    matrix.say(DM, ALICE, text('/status'));
    await eventually(() => matrix.botMessages(DM).length === before + 1 && idle(), 10_000, 'status answer');
    expect(matrix.botMessages(DM).at(-1)!.text).toMatch(/^Queue \(sqlite\)/);
  });

  it('refuses a user who is not allowed, once, naming matrix.allowed_users; nothing reaches the CLI', async () => {
    const before = anthropic.prompts().length;
    const mention = { 'm.mentions': { user_ids: [matrix.botUserId] } };
    const first = matrix.say(ROOM, STRANGER, { ...text('cligate: let me in'), ...mention });
    await eventually(() => matrix.botMessages(ROOM).some((m) => m.threadId === first.event_id), 10_000, 'refusal');
    matrix.say(ROOM, STRANGER, { ...text('cligate: please'), ...mention });
    await new Promise((r) => setTimeout(r, 800));
    const refusals = matrix.botMessages(ROOM).filter((m) => m.text.startsWith('Sorry'));
    expect(refusals.map((m) => m.text)).toEqual([
      `Sorry, this is a private bot and you are not on its allow-list. (Your user id is ${STRANGER}; the owner can add it to matrix.allowed_users.)`,
    ]);
    expect(anthropic.prompts().length).toBe(before);
  });

  it('downloads a file sent as m.file into the workspace, through authenticated media', async () => {
    matrix.media.set('script1', { data: Buffer.from('print("hi")\n'), type: 'text/x-python' });
    const before = matrix.botMessages(DM).length;
    matrix.say(DM, ALICE, { msgtype: 'm.file', body: 'review this', filename: 'script.py', url: 'mxc://fake.local/script1', info: { size: 12, mimetype: 'text/x-python' } });
    await eventually(() => matrix.botMessages(DM).length > before && idle(), 30_000, 'answer');
    expect(anthropic.prompts().find((p) => p.startsWith('review this'))).toContain('uploads/script.py (text/x-python, 12 B)');
    expect(matrix.callsTo('GET', /^\/_matrix\/client\/v1\/media\/download\/fake\.local\/script1/).length).toBe(1);
  });

  it('joins a room when an allowed person invites it, and not when a stranger does', async () => {
    matrix.invite('!from-stranger:fake.local', STRANGER);
    matrix.invite('!from-alice:fake.local', ALICE);
    await eventually(() => matrix.callsTo('POST', /\/join\/!from-alice:fake\.local$/).length === 1, 10_000, 'the join');
    expect(matrix.callsTo('POST', /\/join\/!from-stranger/)).toEqual([]);
  });

  it('asks for approval as text with numbered choices; a reply with the number allows it', async () => {
    const made = path.join(workspacePath(t.config.workspace.root, `matrix:${DM}`), 'made.txt');
    matrix.say(DM, ALICE, text('[[tool Bash: echo hi > made.txt]]'));
    const card = await eventually(() => matrix.botMessages(DM).find((m) => m.text.includes('Claude wants to run a command')), 30_000, 'the request');
    expect(card.text).toMatch(/\*\*1\*\* Allow once · \*\*2\*\* Allow in this conversation · \*\*3\*\* Deny — reply with the number\./);
    matrix.say(DM, ALICE, text('1'));
    await eventually(() => matrix.botMessages(DM).some((m) => m.text.startsWith('tool said')) && idle(), 30_000, 'the answer');
    expect(fs.readFileSync(made, 'utf8')).toBe('hi\n');
    await eventually(() => /Allowed once\*\* by/.test(matrix.botMessages(DM).find((m) => m.event_id === card.event_id)!.text), 10_000, 'the request says who allowed it');
  });
});
