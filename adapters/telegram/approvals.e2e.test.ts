/**
 * Approvals on Telegram: real grammY against the Bot API stand-in, the real `claude` CLI asking for
 * a Bash call. The request is a message with an inline keyboard; presses arrive as callback queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake } from '../../test/support/anthropic-fake.js';
import { approvalsOf, startTestGateway, withApprovalTimeout, type TestGateway } from '../../test/support/gateway.js';
import { cliEnv, eventually, spawnCligate, testConfig, tmpDir, writeConfig } from '../../test/support/harness.js';
import { TelegramFake, type BotMessage } from '../../test/support/telegram-fake.js';
import { TelegramAdapter } from './index.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
let t: TestGateway;
const ALICE = 42;
const BOB = 43;
const GROUP = -1002;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start()]);
  t = await startTestGateway(anthropic, {
    config: { telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [ALICE, BOB] } },
    adapters: (config) => [new TelegramAdapter(config.telegram)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop()]);
});

const WRITE = '[[tool Bash: echo hi > made.txt]]';
const made = (chatId: number, root = t.config.workspace.root) => path.join(workspacePath(root, `telegram:${chatId}`), 'made.txt');

async function requestCard(chatId: number, fake = telegram, earlier?: BotMessage): Promise<BotMessage> {
  return eventually(() => fake.chat(chatId).find((m) => m !== earlier && m.text.includes('Claude wants to run a command') && m.buttons), 30_000, 'the request with its buttons');
}

const answers = (chatId: number, fake = telegram) => fake.chat(chatId).filter((m) => m.text.startsWith('tool said'));

/** What the bot answered to a button press, by the press's update. */
const toast = (press: any) => eventually(() => telegram.callsOf('answerCallbackQuery').find((c) => c.params.callback_query_id === press.callback_query.id)?.params, 10_000, 'the answer to the press');

function button(card: BotMessage, label: string): string {
  return card.buttons!.flat().find((b) => b.text === label)!.data;
}

/** The `count`th answer once final: a draft still streaming carries a Stop button, the answer none. */
const answer = (chatId: number, count = 1) => eventually(() => {
  const m = answers(chatId)[count - 1];
  return m && !m.buttons ? m : undefined;
}, 30_000, 'the answer');

describe('Telegram approvals', () => {
  it('shows the command with Allow / Allow in this conversation / Deny; a non-approver is refused; Allow once runs it', async () => {
    telegram.userMessage({ chatId: GROUP, userId: ALICE, chatType: 'group', text: '@cligate_test_bot [[tool Bash: echo hi > made.txt]]' });
    const card = await requestCard(GROUP);
    expect(card.buttons!.flat().map((b) => b.text)).toEqual(['Allow once', 'Allow in this conversation', 'Deny']);
    expect(card.text).toContain('echo hi &gt; made.txt');
    // The draft showing the tool activity carries a Stop button.
    expect(telegram.calls.some((c) => /"callback_data":"stop"/.test(JSON.stringify(c.params.reply_markup ?? '')))).toBe(true);

    telegram.clickButton({ chatId: GROUP, userId: BOB, messageId: card.message_id, data: button(card, 'Allow once') });
    await telegram.until(() => telegram.callsOf('answerCallbackQuery').length === 1, 10_000, 'the refusal');
    expect(telegram.callsOf('answerCallbackQuery')[0]!.params).toMatchObject({ show_alert: true, text: expect.stringMatching(/Only the person who asked/) });
    expect(t.gateway.store.approvals.pending()).toHaveLength(1);

    telegram.clickButton({ chatId: GROUP, userId: ALICE, messageId: card.message_id, data: button(card, 'Allow once') });
    const answered = await answer(GROUP);
    expect(fs.readFileSync(made(GROUP), 'utf8')).toBe('hi\n');
    // What the chat shows: the request, then the answer below it, without a Stop button; the draft that
    // led up to the request (its tool status line and Stop) is gone, so nothing stale stays above.
    expect(answered.message_id).toBeGreaterThan(card.message_id);
    await eventually(() => !answered.buttons, 10_000, 'the final answer without Stop');
    expect(telegram.chat(GROUP).map((m) => (m === card ? 'request' : m === answered ? 'answer' : m.text))).toEqual(['request', 'answer']);
    await eventually(() => /Allowed once<\/b> by @user42/.test(card.text) && !card.buttons, 10_000, 'the card says who allowed it, without buttons');
    // A late press on the old card changes nothing.
    telegram.clickButton({ chatId: GROUP, userId: ALICE, messageId: card.message_id, data: button({ ...card, buttons: [[{ text: 'Deny', data: `ap:1:deny` }]] }, 'Deny') });
    await telegram.until(() => telegram.callsOf('answerCallbackQuery').length === 3, 10_000, 'the late press answered');
    expect(telegram.callsOf('answerCallbackQuery')[2]!.params.text).toMatch(/already answered/);
  });

  it('a reply to the request denies it with that reason, and Claude hears it', async () => {
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: '[[tool Bash: echo hi > made.txt]]' });
    const card = await requestCard(ALICE);
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: 'no, use printf', replyToBot: card.message_id });
    const answered = await answer(ALICE);
    expect(answered.text).toContain('denied this in the chat, saying: no, use printf');
    expect(fs.existsSync(made(ALICE))).toBe(false);
    await eventually(() => /Denied<\/b> by @?user42: no, use printf/.test(card.text) && !card.buttons, 10_000, 'the card says who denied it');
  });

  it('Allow in this conversation: the same command in the next turn runs without a second request', async () => {
    telegram.userMessage({ chatId: BOB, userId: BOB, text: WRITE });
    const card = await requestCard(BOB);
    telegram.clickButton({ chatId: BOB, userId: BOB, messageId: card.message_id, data: button(card, 'Allow in this conversation') });
    await answer(BOB);
    fs.rmSync(made(BOB));
    telegram.userMessage({ chatId: BOB, userId: BOB, text: WRITE });
    await answer(BOB, 2);
    expect(fs.readFileSync(made(BOB), 'utf8')).toBe('hi\n');
    expect(telegram.chat(BOB).filter((m) => m.text.includes('Claude wants to run a command'))).toHaveLength(1);
    expect(approvalsOf(t, `telegram:${BOB}`).map((a) => a.decided_by)).toEqual(['@user43', 'rule Bash(echo hi > made.txt)']);
  });

  it('a double press (Deny, then Allow once at once) decides once: nothing runs, Claude hears the denial; the second press is told it was already answered', async () => {
    const chat = -1003;
    telegram.userMessage({ chatId: chat, userId: ALICE, chatType: 'group', text: `@cligate_test_bot ${WRITE}` });
    const card = await requestCard(chat);
    const first = telegram.clickButton({ chatId: chat, userId: ALICE, messageId: card.message_id, data: button(card, 'Deny') });
    const second = telegram.clickButton({ chatId: chat, userId: ALICE, messageId: card.message_id, data: button(card, 'Allow once') });
    expect((await toast(second)).text).toMatch(/already answered/);
    expect((await toast(first)).text).toBe('Denied.');
    expect((await answer(chat)).text).toMatch(/denied this in the chat/);
    expect(fs.existsSync(made(chat))).toBe(false);
    expect(approvalsOf(t, `telegram:${chat}`).map((a) => [a.status, a.choice])).toEqual([['denied', 'deny']]);
    await new Promise((r) => setTimeout(r, 300));
    expect(answers(chat)).toHaveLength(1);
  });

  it('nobody answering in time denies the request: the card and Claude\'s answer say so', async () => {
    const chat = -1004;
    await withApprovalTimeout(t, 2, async () => {
      telegram.userMessage({ chatId: chat, userId: ALICE, chatType: 'group', text: `@cligate_test_bot ${WRITE}` });
      const card = await requestCard(chat);
      expect((await answer(chat)).text).toMatch(/Nobody answered within 2 seconds/);
      await eventually(() => /Nobody answered within 2 seconds: denied/.test(card.text) && !card.buttons, 10_000, 'the card says nobody answered');
    });
    expect(fs.existsSync(made(chat))).toBe(false);
  });
});

describe('Telegram approvals across a crash', () => {
  it('kill -9 while a request waits: after the restart the old card expires, a new one asks, one press answers once', async () => {
    const fake = await new TelegramFake().start();
    const dir = tmpDir();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
      telegram: { token: fake.token, api_root: fake.url, allowed_users: [ALICE] }, workspace: { root: path.join(dir, 'ws') },
    }));
    const env = cliEnv(anthropic, dir);
    const first = spawnCligate(['start', '--config', config], env);
    let second: ReturnType<typeof spawnCligate> | undefined;
    try {
      fake.userMessage({ chatId: ALICE, userId: ALICE, text: WRITE });
      const old = await requestCard(ALICE, fake);
      const oldAllow = button(old, 'Allow once');
      first.kill('SIGKILL');
      await first.exited;

      second = spawnCligate(['start', '--config', config], env);
      const fresh = await requestCard(ALICE, fake, old);
      // A press on the old card is told it expired. The card loses its buttons on restart, or at the
      // latest at that press when the kill came between posting the card and noting where it went.
      const late = fake.clickButton({ chatId: ALICE, userId: ALICE, messageId: old.message_id, data: oldAllow });
      await fake.until(() => fake.callsOf('answerCallbackQuery').some((c) => c.params.callback_query_id === late.callback_query.id), 10_000, 'the late press answered');
      expect(fake.callsOf('answerCallbackQuery').at(-1)!.params.text).toMatch(/expired/);
      await eventually(() => /Expired/.test(old.text) && !old.buttons, 10_000, 'the old card expired, without buttons');
      fake.clickButton({ chatId: ALICE, userId: ALICE, messageId: fresh.message_id, data: button(fresh, 'Allow once') });
      await eventually(() => answers(ALICE, fake)[0], 30_000, 'the answer');
      expect(fs.readFileSync(made(ALICE, path.join(dir, 'ws')), 'utf8')).toBe('hi\n');
      await new Promise((r) => setTimeout(r, 500));
      expect(answers(ALICE, fake)).toHaveLength(1);
    } finally {
      first.kill();
      second?.kill('SIGTERM');
      await second?.exited;
      await fake.stop();
    }
  });
});
