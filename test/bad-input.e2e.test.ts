/**
 * Bad input from the platforms: malformed payloads, invalid Unicode, messages over the size limit.
 * Each gets a clear answer or a clean 4xx, and the gateway keeps answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlackAdapter } from '../adapters/slack/index.js';
import { TelegramAdapter } from '../adapters/telegram/index.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import { eventCallback, SlackFake, slackSignature } from './support/slack-fake.js';
import { TelegramFake } from './support/telegram-fake.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
const slack = new SlackFake();
const SECRET = 'bad-input-signing-secret';
let t: TestGateway;
let base: string;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start(), slack.start()]);
  t = await startTestGateway(anthropic, {
    config: {
      http: { enabled: true, port: 0 },
      limits: { max_message_chars: 20_000 },
      telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [42], webhook_url: 'https://example.com/tg', webhook_secret: 'tg-secret' },
      slack: { bot_token: slack.botToken, signing_secret: SECRET, mode: 'http', api_url: slack.apiUrl, allowed_users: ['U1'] },
    },
    adapters: (config) => [new TelegramAdapter(config.telegram), new SlackAdapter(config.slack)],
  });
  base = t.gateway.httpUrl!;
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop(), slack.stop()]);
});

const slackPost = (body: string, type = 'application/json') =>
  fetch(`${base}/slack/events`, { method: 'POST', headers: { 'content-type': type, ...slackSignature(SECRET, body) }, body });

describe('malformed platform payloads', () => {
  it('survives junk on the Telegram webhook and the Slack endpoint, then answers a real message', async () => {
    const tg = (body: string) => fetch(`${base}/tg`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': 'tg-secret' }, body });
    for (const junk of ['{not json', '[]', '{"update_id":"x","message":{"chat":null}}', '']) {
      expect((await tg(junk)).status).toBe(400);
    }
    // Signed junk can only come from Slack itself; Bolt answers it (a 500 makes Slack retry, harmlessly).
    const answers = [];
    for (const junk of ['{"type":"event_callback"', '{"type":"event_callback","event":null}', 'x=1']) {
      answers.push((await slackPost(junk, junk.startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded')).status);
    }
    expect(answers).toEqual([400, 500, 404]);
    const ok = eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'after the junk', ts: '1700000001.000001', channel: 'DJ' });
    expect((await slackPost(JSON.stringify(ok))).status).toBe(200);
    await eventually(() => slack.inChannel('DJ').some((m) => m.text === 'echo: after the junk'), 30_000, 'answer after junk');
  });
});

describe('invalid Unicode and oversized messages', () => {
  it('replaces lone surrogates instead of failing', async () => {
    const event = eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'broken \ud800 text', ts: '1700000002.000001', channel: 'DU' });
    expect((await slackPost(JSON.stringify(event))).status).toBe(200);
    await eventually(() => slack.inChannel('DU').length === 1, 30_000, 'answer');
    expect(anthropic.prompts()).toContain('broken \ufffd text');
  });

  it('answers a message over the size limit with the limit and the fix', async () => {
    const event = eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'z'.repeat(30_000), ts: '1700000003.000001', channel: 'DL' });
    expect((await slackPost(JSON.stringify(event))).status).toBe(200);
    await eventually(() => slack.inChannel('DL').length === 1, 20_000, 'refusal');
    expect(slack.inChannel('DL')[0]!.text).toBe('Your message is 30,000 characters long; the limit is 20,000 (limits.max_message_chars). Send the text as a file instead, or split it.');
  });
});
