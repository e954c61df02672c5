/**
 * Slack end to end: real Bolt against a loopback Slack stand-in, in Socket Mode and in HTTP mode with
 * signed requests; the real `claude` CLI against the Anthropic stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceAfter } from '../../src/reply/chunk.js';
import { AnthropicFake, longMarkdown } from '../../test/support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { eventCallback, SlackFake, slackSignature } from '../../test/support/slack-fake.js';
import { SlackAdapter } from './index.js';

const anthropic = new AnthropicFake();
const slack = new SlackFake();
let t: TestGateway;
let seq = 1;
const nextTs = () => `1700000000.${String(seq++).padStart(6, '0')}`;

function idle(): boolean {
  const counts = t.gateway.store.messages.counts();
  return !counts.running && !counts.queued && t.gateway.store.outbox.pendingCount() === 0;
}

beforeAll(async () => {
  await Promise.all([anthropic.start(), slack.start()]);
  t = await startTestGateway(anthropic, {
    config: { slack: { bot_token: slack.botToken, app_token: 'xapp-test', api_url: slack.apiUrl, allowed_users: ['U1'], team_id: 'T1' } },
    adapters: (config) => [new SlackAdapter(config.slack)],
  });
  await slack.connected();
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), slack.stop()]);
});

describe('Slack (Socket Mode)', () => {
  it('answers a mention in a channel in its thread, streaming through chat.update', async () => {
    anthropic.respond = (req) => (req.prompt === 'explain <this> & that' ? { text: 'A *short* answer with **bold**, `code` & a [link](https://example.com).', chunkSize: 8, delayMs: 80 } : undefined);
    const ts = nextTs();
    const { ack } = await slack.sendEnvelope('events_api', eventCallback({ type: 'app_mention', user: 'U1', text: '<@UBOT> explain &lt;this&gt; &amp; that', ts, channel: 'C1' }));
    expect(ack.envelope_id).toBeDefined();
    await eventually(() => slack.inChannel('C1').length === 1 && idle(), 30_000, 'answer');
    anthropic.respond = undefined;
    const [posted] = slack.inChannel('C1');
    expect(posted!.thread_ts).toBe(ts);
    expect(posted!.edits).toBeGreaterThan(0);
    expect(posted!.blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: 'A _short_ answer with *bold*, `code` &amp; a <https://example.com|link>.' } }]);
    expect(posted!.text).toBe('A short answer with bold, code & a link (https://example.com).');
    // The ⏳ reaction came and went.
    expect(slack.callsOf('reactions.add')[0]!.body).toMatchObject({ channel: 'C1', timestamp: ts, name: 'hourglass_flowing_sand' });
    expect(slack.callsOf('reactions.remove')[0]!.body).toMatchObject({ channel: 'C1', timestamp: ts });
  });

  it('continues the thread conversation on the next mention in it', async () => {
    const root = slack.inChannel('C1')[0]!.thread_ts!;
    await slack.sendEnvelope('events_api', eventCallback({ type: 'app_mention', user: 'U1', text: '<@UBOT> and then?', ts: nextTs(), thread_ts: root, channel: 'C1' }));
    await eventually(() => slack.inChannel('C1').length === 2 && idle(), 30_000, 'second answer');
    expect(slack.inChannel('C1')[1]).toMatchObject({ thread_ts: root, text: 'echo: and then?' });
    expect(JSON.stringify(anthropic.requests.at(-1)!.body.messages)).toContain('A *short* answer');
  });

  it('answers a DM in the DM, and a DM thread in its thread; ignores bots', async () => {
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'hello in dm', ts: nextTs(), channel: 'D1' }));
    await eventually(() => slack.inChannel('D1').length === 1 && idle(), 30_000, 'dm answer');
    expect(slack.inChannel('D1')[0]).toMatchObject({ thread_ts: undefined, text: 'echo: hello in dm' });
    const threadRoot = nextTs();
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'in a dm thread', ts: nextTs(), thread_ts: threadRoot, channel: 'D1' }));
    await eventually(() => slack.inChannel('D1').length === 2 && idle(), 30_000, 'dm thread answer');
    expect(slack.inChannel('D1')[1]).toMatchObject({ thread_ts: threadRoot, text: 'echo: in a dm thread' });
    const before = anthropic.prompts().length;
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U9', bot_id: 'B9', text: 'beep from a bot', ts: nextTs(), channel: 'D1' }));
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'UBOT', text: 'my own echo', ts: nextTs(), channel: 'D1' }));
    await new Promise((r) => setTimeout(r, 500));
    expect(anthropic.prompts().length).toBe(before);
    expect(t.gateway.store.conversations.get('slack:D1')).toBeDefined();
    expect(t.gateway.store.conversations.get(`slack:D1:${threadRoot}`)).toBeDefined();
  });

  it('acknowledges the slash command at once and answers commands ephemerally', async () => {
    const responseUrl = slack.responseUrl();
    const { ms } = await slack.sendEnvelope('slash_commands', {
      command: '/claude', text: 'status', user_id: 'U1', channel_id: 'D1', team_id: 'T1', response_url: responseUrl, trigger_id: 'trig-1',
    });
    expect(ms).toBeLessThan(3000);
    await eventually(() => slack.responses.length === 1, 10_000, 'ephemeral response');
    expect(slack.responses[0]!.body.response_type).toBe('ephemeral');
    expect(slack.responses[0]!.body.text).toMatch(/^Queue \(sqlite\)/);
    await slack.sendEnvelope('slash_commands', { command: '/claude', text: '', user_id: 'U1', channel_id: 'D1', team_id: 'T1', response_url: responseUrl, trigger_id: 'trig-2' });
    await eventually(() => slack.responses.length === 2, 10_000, 'help');
    expect(slack.responses[1]!.body.text).toContain('/new');
  });

  it('takes "/claude in ..." as a prompt and "/claude /in ..." as the schedule command', async () => {
    const send = (text: string, trigger: string) => slack.sendEnvelope('slash_commands', { command: '/claude', text, user_id: 'U1', channel_id: 'D5', team_id: 'T1', response_url: slack.responseUrl(), trigger_id: trigger });
    const before = slack.responses.length;
    await send('/in 1 hour look at the build', 'trig-in-1');
    await eventually(() => slack.responses.length === before + 1, 10_000, 'the schedule made');
    expect(slack.responses.at(-1)!.body.text).toMatch(/^Scheduled #\d+ \(once at /);
    await send('in the repo, what is 2+2?', 'trig-in-2');
    await eventually(() => anthropic.prompts().includes('in the repo, what is 2+2?'), 20_000, 'the prompt at the API');
    await eventually(() => idle(), 20_000, 'answered');
  });

  it('splits a long answer into messages and sections under 3,000 characters, code blocks whole', async () => {
    anthropic.respond = (req) => (req.prompt === 'long one' ? { text: longMarkdown(9000), chunkSize: 1000 } : undefined);
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'long one', ts: nextTs(), channel: 'D2' }));
    await eventually(() => slack.inChannel('D2').length >= 3 && idle(), 30_000, 'long answer');
    anthropic.respond = undefined;
    for (const message of slack.inChannel('D2')) {
      for (const block of message.blocks!) {
        expect(block.text.text.length).toBeLessThanOrEqual(3000);
        expect(fenceAfter(block.text.text, undefined)).toBeUndefined();
      }
    }
    expect(slack.inChannel('D2').map((m) => m.blocks!.map((b) => b.text.text).join('\n')).join('\n')).toContain('const value3_0 = compute(0) * 2;');
  });

  it('honours Retry-After on a 429 from chat.update and still delivers the final text', async () => {
    anthropic.respond = (req) => (req.prompt === 'rate limited' ? { text: 'many small words '.repeat(20).trim(), chunkSize: 10, delayMs: 60 } : undefined);
    slack.rateLimitNext('chat.update', 2);
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'rate limited', ts: nextTs(), channel: 'D3' }));
    await eventually(() => slack.inChannel('D3').length === 1 && idle(), 30_000, 'answer after 429');
    anthropic.respond = undefined;
    expect(slack.inChannel('D3')[0]!.text).toBe('many small words '.repeat(20).trim());
    const updates = slack.callsOf('chat.update').filter((c) => c.body.channel === 'D3').map((c) => c.at);
    expect(updates[1]! - updates[0]!).toBeGreaterThanOrEqual(1900);
  });

  it('refuses users off the allow-list (ephemerally, once) and other workspaces, reaching no CLI', async () => {
    const before = anthropic.prompts().length;
    await slack.sendEnvelope('events_api', eventCallback({ type: 'app_mention', user: 'U666', text: '<@UBOT> let me in', ts: nextTs(), channel: 'C1' }));
    await eventually(() => slack.callsOf('chat.postEphemeral').length === 1, 10_000, 'refusal');
    expect(slack.callsOf('chat.postEphemeral')[0]!.body).toMatchObject({ user: 'U666', channel: 'C1' });
    expect(slack.callsOf('chat.postEphemeral')[0]!.body.text).toMatch(/not on its allow-list.*U666.*slack\.allowed_users/);
    const other = eventCallback({ type: 'app_mention', user: 'U1', text: '<@UBOT> from elsewhere', ts: nextTs(), channel: 'C1' });
    other.team_id = 'T-OTHER';
    await slack.sendEnvelope('events_api', other);
    await new Promise((r) => setTimeout(r, 500));
    expect(anthropic.prompts().length).toBe(before);
  });

  it('downloads files shared in a DM with the bot token', async () => {
    slack.files.set('F1', Buffer.from('col1,col2\n1,2\n'));
    await slack.sendEnvelope('events_api', eventCallback({
      type: 'message', subtype: 'file_share', channel_type: 'im', user: 'U1', text: 'sum this', ts: nextTs(), channel: 'D4',
      files: [{ id: 'F1', name: 'data.csv', mimetype: 'text/csv', size: 14, url_private_download: `${slack.url}/files/F1` }],
    }));
    await eventually(() => slack.inChannel('D4').length === 1 && idle(), 30_000, 'answer with file');
    expect(anthropic.prompts().find((p) => p.startsWith('sum this'))).toContain('uploads/data.csv (text/csv, 14 B)');
  });
});

describe('Slack (HTTP mode)', () => {
  const SECRET = 'signing-secret-for-tests';
  let t2: TestGateway;
  let events: string;

  beforeAll(async () => {
    t2 = await startTestGateway(anthropic, {
      config: {
        http: { enabled: true, port: 0 },
        slack: { bot_token: slack.botToken, signing_secret: SECRET, mode: 'http', api_url: slack.apiUrl, allowed_users: ['U1'] },
      },
      adapters: (config) => [new SlackAdapter(config.slack)],
    });
    events = `${t2.gateway.httpUrl}/slack/events`;
  });
  afterAll(async () => {
    await t2?.stop();
  });

  const post = (body: string, headers: Record<string, string>) =>
    fetch(events, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  it('refuses a bad or stale signature with 401, and nothing reaches the queue', async () => {
    const before = t2.gateway.store.messages.counts().queued + anthropic.prompts().length;
    const body = JSON.stringify(eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'forged', ts: nextTs(), channel: 'D9' }));
    expect((await post(body, slackSignature('wrong-secret', body))).status).toBe(401);
    expect((await post(body, slackSignature(SECRET, body, Math.floor(Date.now() / 1000) - 600))).status).toBe(401);
    expect((await post(body, {})).status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect(t2.gateway.store.messages.counts().queued + anthropic.prompts().length).toBe(before);
    expect(t2.gateway.store.conversations.get('slack:D9')).toBeUndefined();
  });

  it('processes an event once even when Slack retries it', async () => {
    const body = JSON.stringify(eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'retried event', ts: nextTs(), channel: 'D8' }, 'EvRetry1'));
    expect((await post(body, slackSignature(SECRET, body))).status).toBe(200);
    expect((await post(body, { ...slackSignature(SECRET, body), 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' })).status).toBe(200);
    await eventually(() => slack.inChannel('D8').length === 1, 30_000, 'answer');
    await new Promise((r) => setTimeout(r, 800));
    expect(slack.inChannel('D8').map((m) => m.text)).toEqual(['echo: retried event']);
    expect(anthropic.prompts().filter((p) => p === 'retried event')).toHaveLength(1);
  });

  it('acknowledges a slash command within 3 s over HTTP', async () => {
    const body = new URLSearchParams({ command: '/claude', text: 'new', user_id: 'U1', channel_id: 'D8', team_id: 'T1', response_url: slack.responseUrl(), trigger_id: 'trig-http' }).toString();
    const started = Date.now();
    const res = await fetch(events, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackSignature(SECRET, body) }, body });
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(() => slack.responses.some((r) => /Started a new session/.test(r.body.text)), 10_000, '/claude new response');
  });
});
