/**
 * Approvals on Telegram: real grammY against the Bot API stand-in, the real `claude` CLI asking for
 * a Bash call. The request is a message with an inline keyboard; presses arrive as callback queries.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake } from '../../test/support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
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

const made = (chatId: number) => path.join(workspacePath(t.config.workspace.root, `telegram:${chatId}`), 'made.txt');

async function requestCard(chatId: number): Promise<BotMessage> {
  return eventually(() => telegram.chat(chatId).find((m) => m.text.includes('Claude wants to run a command') && m.buttons), 30_000, 'the request with its buttons');
}

function button(card: BotMessage, label: string): string {
  return card.buttons!.flat().find((b) => b.text === label)!.data;
}

const answer = (chatId: number) => eventually(() => telegram.chat(chatId).find((m) => m.text.startsWith('tool said')), 30_000, 'the answer');

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
    await answer(GROUP);
    expect(fs.readFileSync(made(GROUP), 'utf8')).toBe('hi\n');
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
});
