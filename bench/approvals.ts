/**
 * How quickly a request reaches the person and their answer reaches the CLI, through real grammY
 * against the Telegram stand-in and the real `claude` CLI:
 *   - request → shown: from the gateway reading the CLI's `control_request` (the `approval` event,
 *     published in the same tick) to the Bot API call that posts the buttons;
 *   - click → decision: from the button press (the stand-in delivering the callback query) to the
 *     decision being written back to the waiting CLI (the `approval_update` event the waiting turn
 *     acts on in the same tick).
 */
import { TelegramAdapter } from '../adapters/telegram/index.js';
import type { AnthropicFake } from '../test/support/anthropic-fake.js';
import { startTestGateway } from '../test/support/gateway.js';
import { eventually } from '../test/support/harness.js';
import { TelegramFake } from '../test/support/telegram-fake.js';

export interface ApprovalLatency {
  shown: number[];
  decided: number[];
}

export async function approvalLatency(fake: AnthropicFake, runs: number): Promise<ApprovalLatency> {
  const telegram = await new TelegramFake().start();
  const user = 42;
  const t = await startTestGateway(fake, {
    config: { telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [user] } },
    adapters: (config) => [new TelegramAdapter(config.telegram)],
  });
  const asked = new Map<number, number>();
  const decided = new Map<number, number>();
  const unsubscribe = t.gateway.bus.subscribe((event) => {
    if (event.type === 'approval') asked.set(event.approvalId, performance.now());
    if (event.type === 'approval_update' && !decided.has(event.approvalId)) decided.set(event.approvalId, performance.now());
  });
  const result: ApprovalLatency = { shown: [], decided: [] };
  try {
    for (let i = 0; i <= runs; i++) {
      const chat = 1000 + i;
      telegram.userMessage({ chatId: chat, userId: user, text: `[[tool Bash: echo ${i} > made.txt]]` });
      const card = await eventually(() => telegram.chat(chat).find((m) => m.buttons?.flat().some((b) => b.data.startsWith('ap:'))), 30_000, 'the request');
      const approvalId = Number(card.buttons!.flat()[0]!.data.split(':')[1]);
      const post = telegram.calls.find((c) => c.method === 'sendMessage' && String(c.params.chat_id) === String(chat) && JSON.stringify(c.params.reply_markup ?? '').includes(`ap:${approvalId}:`))!;
      const clickedAt = performance.now();
      telegram.clickButton({ chatId: chat, userId: user, messageId: card.message_id, data: `ap:${approvalId}:allow` });
      await eventually(() => decided.has(approvalId), 10_000, 'the decision');
      await eventually(() => telegram.chat(chat).some((m) => m.text.startsWith('tool said')), 30_000, 'the answer');
      // The first round warms up grammY, the stand-in and the database.
      if (i === 0) continue;
      // `at` is wall-clock; convert the recorded call time onto the performance clock.
      result.shown.push(post.at - (Date.now() - performance.now()) - asked.get(approvalId)!);
      result.decided.push(decided.get(approvalId)! - clickedAt);
    }
  } finally {
    unsubscribe();
    await t.stop();
    await telegram.stop();
  }
  return result;
}
