/**
 * Telegram end to end: real grammY against a loopback Bot API stand-in, the real `claude` CLI against
 * the Anthropic stand-in. A simulated user writes; the test watches typing, streamed edits and the
 * final, chunked, escaped answer.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationIdOf } from '../../src/message.js';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake, longMarkdown } from '../../test/support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { TelegramFake } from '../../test/support/telegram-fake.js';
import { TelegramAdapter } from './index.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
let t: TestGateway;
const ALICE = 42;
const GROUP = -1001;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start()]);
  t = await startTestGateway(anthropic, {
    config: {
      telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [ALICE] },
      // Keep edits quick in tests; the real default is one a second.
    },
    adapters: (config) => [new TelegramAdapter(config.telegram)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop()]);
});

const finalText = (chatId: number) => telegram.chat(chatId).map((m) => m.text);

async function answered(chatId: number, count: number, timeoutMs = 30_000): Promise<void> {
  await eventually(() => {
    const msgs = telegram.chat(chatId);
    return msgs.length >= count && !t.gateway.store.messages.counts().running && !t.gateway.store.messages.counts().queued && t.gateway.store.outbox.pendingCount() === 0;
  }, timeoutMs, `${count} message(s) in chat ${chatId}`);
}

describe('Telegram', () => {
  it('registers the commands menu', () => {
    const commands = telegram.callsOf('setMyCommands')[0]!.params.commands.map((c: any) => c.command);
    expect(commands).toEqual(expect.arrayContaining(['new', 'session', 'forget', 'stop', 'status', 'help']));
  });

  it('answers a DM: typing, a draft edited as it grows, then the final HTML', async () => {
    anthropic.respond = (req) => (req.prompt === 'hi bot' ? { text: 'Use **bold** and `a < b` here, plus more words to stream slowly.', chunkSize: 6, delayMs: 60 } : undefined);
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: 'hi bot' });
    await answered(ALICE, 1);
    anthropic.respond = undefined;
    expect(telegram.callsOf('sendChatAction').some((c) => String(c.params.chat_id) === String(ALICE) && c.params.action === 'typing')).toBe(true);
    const [message] = telegram.chat(ALICE);
    expect(message!.edits).toBeGreaterThan(0);
    expect(message!.parse_mode).toBe('HTML');
    expect(message!.text).toBe('Use <b>bold</b> and <code>a &lt; b</code> here, plus more words to stream slowly.');
    // Edits were throttled to about one a second.
    const edits = telegram.callsOf('editMessageText').filter((c) => String(c.params.chat_id) === String(ALICE)).map((c) => c.at);
    for (let i = 1; i < edits.length - 1; i++) expect(edits[i]! - edits[i - 1]!).toBeGreaterThanOrEqual(900);
  });

  it('in a group, answers only mentions, replies to the bot and commands to it', async () => {
    const before = anthropic.prompts().length;
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'supergroup', text: 'just chatting with friends' });
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'supergroup', text: '/status@some_other_bot' });
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'supergroup', text: '@cligate_test_bot what is 2+2?' });
    await answered(GROUP, 1);
    const reply = telegram.chat(GROUP)[0]!;
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'supergroup', text: 'and times 3?', replyToBot: reply.message_id });
    await answered(GROUP, 2);
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'supergroup', text: '/session@cligate_test_bot' });
    await answered(GROUP, 3);
    expect(anthropic.prompts().slice(before)).toEqual(['what is 2+2?', 'and times 3?']);
    expect(finalText(GROUP)[2]).toMatch(/#\d+ claude <code>[0-9a-f-]{36}<\/code>: 2 turns/);
    // Answers in a group reply to the message they answer.
    expect(telegram.chat(GROUP)[0]!.reply_to).toBeDefined();
  });

  it('treats forum topics as separate conversations', async () => {
    telegram.userMessage({ chatId: -2002, userId: ALICE, chatType: 'supergroup', threadId: 7, text: '@cligate_test_bot topic seven' });
    telegram.userMessage({ chatId: -2002, userId: ALICE, chatType: 'supergroup', threadId: 8, text: '@cligate_test_bot topic eight' });
    await answered(-2002, 2);
    const byThread = Object.fromEntries(telegram.chat(-2002).map((m) => [m.thread_id, m.text]));
    expect(byThread).toEqual({ 7: 'echo: topic seven', 8: 'echo: topic eight' });
    expect(t.gateway.store.conversations.get('telegram:-2002:7')).toBeDefined();
    expect(t.gateway.store.conversations.get('telegram:-2002:8')).toBeDefined();
  });

  it('refuses a user who is not allowed, once, and nothing reaches the CLI', async () => {
    const before = anthropic.prompts().length;
    telegram.userMessage({ chatId: 777, userId: 777, text: 'let me in' });
    await telegram.until(() => telegram.chat(777).length === 1, 10_000, 'refusal');
    await telegram.handled(telegram.userMessage({ chatId: 777, userId: 777, text: 'please?' }));
    expect(finalText(777)).toEqual(['Sorry, this is a private bot and you are not on its allow-list. (Your user id is 777; the owner can add it to telegram.allowed_users.)']);
    expect(anthropic.prompts().length).toBe(before);
  });

  it('splits a 10,000-character answer under 4096 characters, code blocks intact', async () => {
    const chat = 4001;
    const tt = await addUser(chat);
    anthropic.respond = (req) => (req.prompt === 'long please' ? { text: longMarkdown(10_000), chunkSize: 500 } : undefined);
    telegram.userMessage({ chatId: chat, userId: chat, text: 'long please' });
    await answered(chat, 3);
    anthropic.respond = undefined;
    const texts = finalText(chat);
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const text of texts) {
      const visible = text.replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
      expect(visible.length).toBeLessThanOrEqual(4096);
      // Every tag opened is closed in the same message.
      for (const tag of ['pre', 'code', 'b', 'i', 'a']) {
        expect((text.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length).toBe((text.match(new RegExp(`</${tag}>`, 'g')) ?? []).length);
      }
    }
    expect(texts.join('\n')).toContain('<pre><code class="language-ts">');
    tt();
  });

  it('sends plain text when Telegram rejects the markup', async () => {
    const chat = 4002;
    const tt = await addUser(chat);
    telegram.rejectMarkup = (text) => text.includes('<b>');
    anthropic.respond = (req) => (req.prompt === 'markup' ? { text: 'This is **bold** and fine.' } : undefined);
    telegram.userMessage({ chatId: chat, userId: chat, text: 'markup' });
    await answered(chat, 1);
    telegram.rejectMarkup = undefined;
    anthropic.respond = undefined;
    expect(telegram.chat(chat)[0]).toMatchObject({ text: 'This is bold and fine.', parse_mode: undefined });
    tt();
  });

  it('backs off on 429 for an edit and still delivers the final text', async () => {
    const chat = 4003;
    const tt = await addUser(chat);
    anthropic.respond = (req) => (req.prompt === 'rate me' ? { text: 'slow words '.repeat(30).trim(), chunkSize: 10, delayMs: 80 } : undefined);
    telegram.failNext('editMessageText', 429, 'Too Many Requests: retry after 2', 2);
    telegram.userMessage({ chatId: chat, userId: chat, text: 'rate me' });
    await answered(chat, 1);
    anthropic.respond = undefined;
    expect(telegram.chat(chat)[0]!.text).toBe('slow words '.repeat(30).trim());
    const edits = telegram.callsOf('editMessageText').filter((c) => String(c.params.chat_id) === String(chat)).map((c) => c.at);
    // The edit after the 429 waited for retry_after.
    expect(edits[1]! - edits[0]!).toBeGreaterThanOrEqual(1900);
    tt();
  });

  it('downloads a photo into the workspace and tells Claude where it is', async () => {
    const chat = 4004;
    const tt = await addUser(chat);
    telegram.files.set('files/photo-big', Buffer.from('fake jpeg bytes'));
    telegram.userMessage({ chatId: chat, userId: chat, caption: 'what is in this picture?', photo: { fileId: 'photo-big', size: 15 }, messageId: 555 });
    await answered(chat, 1);
    const prompt = anthropic.prompts().find((p) => p.startsWith('what is in this picture?'))!;
    expect(prompt).toContain('uploads/photo-555.jpg (image/jpeg, 15 B)');
    const ws = workspacePath(t.config.workspace.root, conversationIdOf({ platform: 'telegram', chatId: String(chat) }));
    expect(fs.readFileSync(path.join(ws, 'uploads', 'photo-555.jpg'), 'utf8')).toBe('fake jpeg bytes');
    // A file over the limit gets a clear reply instead.
    telegram.userMessage({ chatId: chat, userId: chat, caption: 'and this', document: { fileId: 'huge', name: 'huge.zip', size: 30 * 1024 * 1024, mime: 'application/zip' } });
    await answered(chat, 3);
    expect(finalText(chat).join('\n')).toMatch(/huge\.zip is 30\.0 MB; files up to 20\.0 MB are passed to Claude \(telegram\.max_file_mb\)/);
    tt();
  });

  it('/file sends a file from the workspace, and refuses paths outside it', async () => {
    const chat = 4005;
    const tt = await addUser(chat);
    const ws = workspacePath(t.config.workspace.root, conversationIdOf({ platform: 'telegram', chatId: String(chat) }));
    fs.mkdirSync(ws, { recursive: true });
    fs.writeFileSync(path.join(ws, 'report.txt'), 'the report');
    fs.symlinkSync('/etc/hostname', path.join(ws, 'sneaky'));
    telegram.userMessage({ chatId: chat, userId: chat, text: '/file report.txt' });
    telegram.userMessage({ chatId: chat, userId: chat, text: '/file ../../../../etc/passwd' });
    telegram.userMessage({ chatId: chat, userId: chat, text: '/file sneaky' });
    await answered(chat, 3);
    expect(finalText(chat)).toEqual([
      '[document report.txt 10 bytes]',
      "That path leaves the conversation's workspace.",
      "That path leads outside the conversation's workspace (through a link).",
    ]);
    tt();
  });

  it('processes a redelivered update once', async () => {
    const chat = 4006;
    const tt = await addUser(chat);
    const update = telegram.userMessage({ chatId: chat, userId: chat, text: 'only once' });
    await answered(chat, 1);
    await telegram.redeliver(update);
    expect(finalText(chat)).toEqual(['echo: only once']);
    tt();
  });
});

describe('Telegram webhook mode', () => {
  it('accepts updates carrying the secret and answers 401 without it', async () => {
    const hook = new TelegramFake();
    await hook.start();
    const t2 = await startTestGateway(anthropic, {
      config: {
        http: { enabled: true, port: 0 },
        telegram: { token: hook.token, api_root: hook.url, allowed_users: [ALICE], webhook_url: 'https://bot.example.com/telegram/hook', webhook_secret: 's3cret-token' },
      },
      adapters: (config) => [new TelegramAdapter(config.telegram)],
    });
    try {
      expect(hook.webhook).toEqual({ url: 'https://bot.example.com/telegram/hook', secret: 's3cret-token' });
      const local = `${t2.gateway.httpUrl}/telegram/hook`;
      const update = { update_id: 1, message: { message_id: 1, date: 0, chat: { id: ALICE, type: 'private' }, from: { id: ALICE, is_bot: false, first_name: 'A' }, text: 'via webhook' } };
      const missing = await fetch(local, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(update) });
      expect(missing.status).toBe(401);
      const wrong = await fetch(local, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'nope' }, body: JSON.stringify(update) });
      expect(wrong.status).toBe(401);
      // Telegram itself posts with the secret (the stand-in does what setWebhook told it).
      hook.webhook = { url: local, secret: 's3cret-token' };
      hook.userMessage({ chatId: ALICE, userId: ALICE, text: 'via webhook' });
      await hook.until(() => hook.chat(ALICE).some((m) => m.text === 'echo: via webhook'), 20_000, 'webhook answer');
      expect(anthropic.prompts().filter((p) => p === 'via webhook')).toHaveLength(1);
    } finally {
      await t2.stop();
      await hook.stop();
    }
  });
});

/** Allows one more user (whose DM chat id is the user id), for tests that need a fresh chat. */
async function addUser(id: number): Promise<() => void> {
  t.config.telegram.allowed_users.push(String(id));
  return () => {
    const i = t.config.telegram.allowed_users.indexOf(String(id));
    if (i >= 0) t.config.telegram.allowed_users.splice(i, 1);
  };
}
