/**
 * Approvals on Slack, end to end: real Bolt in Socket Mode against the Slack stand-in, the real
 * `claude` CLI against the Anthropic stand-in. A request shows up as Block Kit buttons, a click comes
 * back as a block_actions payload, and the card is redrawn with who decided what.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake } from '../../test/support/anthropic-fake.js';
import { approvalsOf as approvalsIn, startTestGateway, withApprovalTimeout, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { eventCallback, SlackFake, type SlackPosted } from '../../test/support/slack-fake.js';
import { SlackAdapter } from './index.js';

const anthropic = new AnthropicFake();
const slack = new SlackFake();
let t: TestGateway;
let seq = 1;
const nextTs = () => `1700000100.${String(seq++).padStart(6, '0')}`;
// As Slack delivers it: `>` arrives escaped.
const WRITE = '[[tool Bash: echo hi &gt; made.txt]]';

beforeAll(async () => {
  await Promise.all([anthropic.start(), slack.start()]);
  t = await startTestGateway(anthropic, {
    config: { slack: { bot_token: slack.botToken, app_token: 'xapp-test', api_url: slack.apiUrl, allowed_users: ['U1', 'U2'], team_id: 'T1' } },
    adapters: (config) => [new SlackAdapter(config.slack)],
  });
  await slack.connected();
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), slack.stop()]);
});

function idle(): boolean {
  const counts = t.gateway.store.messages.counts();
  return !counts.running && !counts.queued && t.gateway.store.outbox.pendingCount() === 0;
}

function buttons(message: SlackPosted): { label: string; value: string; style?: string; actionId: string }[] {
  return (message.blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements)
    .map((e: any) => ({ label: e.text.text, value: e.value, style: e.style, actionId: e.action_id }));
}

function textOf(message: SlackPosted): string {
  return (message.blocks ?? []).filter((b) => b.type === 'section').map((b) => b.text.text).join('\n');
}

/** The approval request posted in `channel`, once it is there. */
function cardIn(channel: string): Promise<SlackPosted> {
  return eventually(() => slack.inChannel(channel).find((m) => buttons(m).some((b) => b.value.startsWith('ap:'))), 30_000, `the request in ${channel}`);
}

const answersIn = (channel: string) => slack.inChannel(channel).filter((m) => m.text.startsWith('tool said'));

/** The `count`th answer in `channel`, once everything is delivered. */
function answerIn(channel: string, count = 1): Promise<SlackPosted> {
  return eventually(() => (idle() ? answersIn(channel)[count - 1] : undefined), 30_000, `the answer in ${channel}`);
}

/** U1 writes to the bot in the direct message channel `channel`. */
function dm(channel: string, text = WRITE): Promise<unknown> {
  return slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text, ts: nextTs(), channel }));
}

function workspace(conversationId: string): string {
  return workspacePath(t.config.workspace.root, conversationId);
}

const approvalsOf = (conversationId: string) => approvalsIn(t, conversationId);

describe('Slack approvals (Block Kit buttons)', () => {
  it('shows the request with buttons; Allow once runs it, the answer arrives, the card says who allowed it', async () => {
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: WRITE, ts: nextTs(), channel: 'D1' }));
    const card = await cardIn('D1');
    expect(textOf(card)).toContain('Claude wants to run a command');
    expect(textOf(card)).toContain('echo hi &gt; made.txt');
    const shown = buttons(card);
    expect(shown.map((b) => [b.label, b.style])).toEqual([['Allow once', 'primary'], ['Allow in this conversation', undefined], ['Deny', 'danger']]);
    expect(shown.map((b) => b.value)).toEqual([expect.stringMatching(/^ap:\d+:allow$/), expect.stringMatching(/^ap:\d+:always$/), expect.stringMatching(/^ap:\d+:deny$/)]);
    expect(new Set(shown.map((b) => b.actionId)).size).toBe(3);
    expect(fs.existsSync(path.join(workspace('slack:D1'), 'made.txt'))).toBe(false);

    const { ack } = await slack.click(card, 'Allow once', 'U1');
    expect(ack.envelope_id).toBeDefined();
    const answer = await answerIn('D1');
    expect(fs.readFileSync(path.join(workspace('slack:D1'), 'made.txt'), 'utf8')).toBe('hi\n');
    await eventually(() => /\*Allowed once\* by user-u1/.test(textOf(card)), 5000, 'the card says who allowed it');
    expect(buttons(card)).toEqual([]);
    // The draft carried a Stop button while the answer was written; the final text has none.
    const drafts = slack.calls.filter((c) => /^chat\.(postMessage|update)$/.test(c.method) && c.body.channel === 'D1');
    expect(drafts.some((c) => JSON.stringify(c.body.blocks ?? []).includes('"value":"stop"'))).toBe(true);
    expect(buttons(answer)).toEqual([]);
    expect(slack.callsOf('chat.postEphemeral')).toHaveLength(0);
  });

  it('refuses a click by someone other than the asker (ephemerally, nothing changes); Deny: nothing runs, Claude hears it', async () => {
    const root = nextTs();
    await slack.sendEnvelope('events_api', eventCallback({ type: 'app_mention', user: 'U1', text: `<@UBOT> ${WRITE}`, ts: root, channel: 'C1' }));
    const card = await cardIn('C1');
    expect(card.thread_ts).toBe(root);
    const conversation = `slack:C1:${root}`;
    const edits = card.edits;

    await slack.click(card, 'Allow once', 'U2');
    const notice = await eventually(() => slack.callsOf('chat.postEphemeral').find((c) => c.body.user === 'U2'), 5000, 'the refusal');
    expect(notice.body).toMatchObject({ channel: 'C1', thread_ts: root });
    expect(notice.body.text).toMatch(/Only the person who asked/);
    await new Promise((r) => setTimeout(r, 300));
    expect(card.edits).toBe(edits);
    expect(approvalsOf(conversation).map((a) => a.status)).toEqual(['pending']);

    await slack.click(card, 'Deny', 'U1');
    const answer = await answerIn('C1');
    expect(answer.text).toMatch(/denied this in the chat/);
    expect(fs.existsSync(path.join(workspace(conversation), 'made.txt'))).toBe(false);
    expect(approvalsOf(conversation)[0]).toMatchObject({ status: 'denied', decided_by: 'user-u1' });
    await eventually(() => /\*Denied\* by user-u1/.test(textOf(card)), 5000, 'the card says who denied it');
    expect(buttons(card)).toEqual([]);
  });

  it('a long input is shortened on the card, and "Show all" opens it whole in a modal', async () => {
    const content = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\\n');
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: `[[call Write {"file_path": "big.txt", "content": "${content}"}]]`, ts: nextTs(), channel: 'D2' }));
    const card = await cardIn('D2');
    expect(textOf(card)).toContain('(shortened)');
    expect(textOf(card)).not.toContain('line 59');
    expect(buttons(card).map((b) => b.label)).toEqual(['Allow once', 'Allow in this conversation', 'Deny', 'Show all']);

    await slack.click(card, 'Show all', 'U1');
    const opened = await eventually(() => slack.callsOf('views.open')[0], 5000, 'the modal');
    expect(opened.body.trigger_id).toMatch(/^trigger-/);
    const view = typeof opened.body.view === 'string' ? JSON.parse(opened.body.view) : opened.body.view;
    expect(view.type).toBe('modal');
    expect(JSON.stringify(view.blocks)).toContain('line 59');
    expect(approvalsOf('slack:D2').map((a) => a.status)).toEqual(['pending']);

    await slack.click(card, 'Deny', 'U1');
    await answerIn('D2');
    expect(fs.existsSync(path.join(workspace('slack:D2'), 'big.txt'))).toBe(false);
  });

  it('Stop on a draft stops the answer, and the final text has no Stop button', async () => {
    anthropic.respond = (req) => (req.prompt === 'talk for a while' ? { text: 'word '.repeat(400).trim(), chunkSize: 10, delayMs: 40 } : undefined);
    await slack.sendEnvelope('events_api', eventCallback({ type: 'message', channel_type: 'im', user: 'U1', text: 'talk for a while', ts: nextTs(), channel: 'D3' }));
    const draft = await eventually(() => slack.inChannel('D3').find((m) => buttons(m).some((b) => b.label === 'Stop')), 30_000, 'the draft with Stop');
    await slack.click(draft, 'Stop', 'U1');
    await eventually(() => idle() && /\(stopped\)/.test(draft.text), 30_000, 'the stopped answer');
    anthropic.respond = undefined;
    expect(buttons(draft)).toEqual([]);
    expect(draft.text.length).toBeLessThan('word '.repeat(400).length);
  });

  it('Allow in this conversation: the same command in the next turn runs without a second request', async () => {
    await dm('D4');
    await slack.click(await cardIn('D4'), 'Allow in this conversation', 'U1');
    await answerIn('D4');
    fs.rmSync(path.join(workspace('slack:D4'), 'made.txt'));
    await dm('D4');
    await answerIn('D4', 2);
    expect(fs.readFileSync(path.join(workspace('slack:D4'), 'made.txt'), 'utf8')).toBe('hi\n');
    expect(slack.inChannel('D4').filter((m) => textOf(m).includes('Claude wants to run a command'))).toHaveLength(1);
    expect(approvalsOf('slack:D4').map((a) => a.decided_by)).toEqual(['user-u1', 'rule Bash(echo hi > made.txt)']);
  });

  it('a double click (Allow once and Deny at once) decides once; the other click is told it was already answered', async () => {
    await dm('D5');
    const card = await cardIn('D5');
    await Promise.all([slack.click(card, 'Allow once', 'U1'), slack.click(card, 'Deny', 'U1')]);
    await answerIn('D5');
    const [decided, ...more] = approvalsOf('slack:D5');
    expect(more).toEqual([]);
    expect(fs.existsSync(path.join(workspace('slack:D5'), 'made.txt'))).toBe(decided!.status === 'allowed');
    const notices = slack.callsOf('chat.postEphemeral').filter((c) => c.body.channel === 'D5');
    expect(notices.map((c) => c.body.text)).toEqual([expect.stringMatching(/already answered/)]);
    expect(answersIn('D5')).toHaveLength(1);
  });

  it('nobody answering in time denies the request: the card and Claude\'s answer say so', async () => {
    await withApprovalTimeout(t, 2, async () => {
      await dm('D6');
      const card = await cardIn('D6');
      expect((await answerIn('D6')).text).toMatch(/Nobody answered within 2 seconds/);
      await eventually(() => /Nobody answered within 2 seconds: denied/.test(textOf(card)), 5000, 'the card says nobody answered');
      expect(buttons(card)).toEqual([]);
    });
    expect(fs.existsSync(path.join(workspace('slack:D6'), 'made.txt'))).toBe(false);
  });
});
