/**
 * Claude's clarifying questions and plans on Telegram: the options are inline buttons, a press is the
 * answer; a plan has Approve plan / Keep planning.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from '../../test/support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { TelegramFake, type BotMessage } from '../../test/support/telegram-fake.js';
import { TelegramAdapter } from './index.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
let t: TestGateway;
const ALICE = 52;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start()]);
  t = await startTestGateway(anthropic, {
    config: { telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [ALICE] } },
    adapters: (config) => [new TelegramAdapter(config.telegram)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop()]);
});

function press(card: BotMessage, label: string): void {
  const data = card.buttons!.flat().find((b) => b.text === label)!.data;
  telegram.clickButton({ chatId: ALICE, userId: ALICE, messageId: card.message_id, data });
}

const cardWith = (label: string) => eventually(() => telegram.chat(ALICE).find((m) => m.buttons?.flat().some((b) => b.text === label)), 30_000, `a request with "${label}"`);
const answered = (pattern: RegExp) => eventually(() => telegram.chat(ALICE).find((m) => pattern.test(m.text)), 30_000, `an answer matching ${pattern}`);

describe('Telegram questions and plans', () => {
  it('a question: its options are buttons, a press answers it', async () => {
    const question = { questions: [{ question: 'Which database?', header: 'DB', multiSelect: false, options: [{ label: 'SQLite', description: 'a file' }, { label: 'Postgres', description: 'a server' }] }] };
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: `[[call AskUserQuestion ${JSON.stringify(question)}]]` });
    const card = await cardWith('Postgres');
    expect(card.text).toContain('Which database?');
    press(card, 'Postgres');
    await answered(/"Which database\?"="Postgres"/);
    await eventually(() => /Answered<\/b> by @user52/.test(card.text) && !card.buttons, 10_000, 'the card says what was answered');
  });

  it('in /mode plan, a plan: Approve plan lets Claude go on', async () => {
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: '/mode plan' });
    await answered(/Mode: <b>plan<\/b>/);
    telegram.userMessage({ chatId: ALICE, userId: ALICE, text: '[[call ExitPlanMode {"plan": "1. Write the test"}]]' });
    const card = await cardWith('Approve plan');
    expect(card.text).toContain('Write the test');
    press(card, 'Approve plan');
    await answered(/tool said: User has approved your plan/);
  });
});
