/**
 * Approvals on Discord, end to end: real discord.js against the REST + gateway stand-in, the real
 * `claude` CLI against the Anthropic stand-in. A request shows up with button components, a click
 * comes back as a button interaction (answered through the interaction callback), and the card is
 * redrawn with who decided what.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspacePath } from '../../src/workspace.js';
import { AnthropicFake } from '../../test/support/anthropic-fake.js';
import { DiscordFake, type PostedMessage } from '../../test/support/discord-fake.js';
import { approvalsOf as approvalsIn, startTestGateway, withApprovalTimeout, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { DiscordAdapter } from './index.js';

const anthropic = new AnthropicFake();
const discord = new DiscordFake();
let t: TestGateway;
const ALICE = '600000000000000001';
const BOB = '600000000000000002';
const WRITE = '[[tool Bash: echo hi > made.txt]]';

beforeAll(async () => {
  await Promise.all([anthropic.start(), discord.start()]);
  t = await startTestGateway(anthropic, {
    config: { discord: { token: 'fake.discord.token', api_url: discord.api, allowed_users: [ALICE, BOB], dev_guild_id: discord.guildId } },
    adapters: (config) => [new DiscordAdapter(config.discord)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), discord.stop()]);
});

function idle(): boolean {
  const counts = t.gateway.store.messages.counts();
  return !counts.running && !counts.queued && t.gateway.store.outbox.pendingCount() === 0;
}

function buttons(message: PostedMessage): { label: string; customId: string; style: number }[] {
  return (message.components ?? []).flatMap((row) => row.components).map((c: any) => ({ label: c.label, customId: c.custom_id, style: c.style }));
}

/** The approval request posted in `channelId`, once it is there. */
function cardIn(channelId: string): Promise<PostedMessage> {
  return eventually(() => discord.inChannel(channelId).find((m) => buttons(m).some((b) => b.customId.startsWith('ap:'))), 30_000, `the request in ${channelId}`);
}

const answersIn = (channelId: string) => discord.inChannel(channelId).filter((m) => m.content.startsWith('tool said'));

/** The `count`th answer in `channelId`, once everything is delivered. */
function answerIn(channelId: string, count = 1): Promise<PostedMessage> {
  return eventually(() => (idle() ? answersIn(channelId)[count - 1] : undefined), 30_000, `the answer in ${channelId}`);
}

/** Alice mentions the bot in the guild channel; the request comes in the thread started for her message. */
async function askInNewThread(): Promise<{ thread: string; card: PostedMessage }> {
  const known = new Set(discord.messages.map((m) => m.channel_id));
  discord.userMessage(`<@${discord.botUser.id}> ${WRITE}`, { mentionBot: true, userId: ALICE });
  const card = await eventually(() => discord.messages.find((m) => !known.has(m.channel_id) && buttons(m).some((b) => b.customId.startsWith('ap:'))), 30_000, 'the request in a new thread');
  return { thread: card.channel_id, card };
}

/** What the bot answered to an interaction, through its callback. */
function callbackOf(click: { id: string; token: string }): Promise<any> {
  return eventually(() => discord.callsTo('POST', new RegExp(`^/interactions/${click.id}/${click.token}/callback$`))[0]?.body, 3000, 'the interaction callback');
}

function workspace(conversationId: string): string {
  return workspacePath(t.config.workspace.root, conversationId);
}

const approvalsOf = (conversationId: string) => approvalsIn(t, conversationId);

describe('Discord approvals (button components)', () => {
  it('shows the request with buttons; Allow once runs it, the answer arrives, the card says who allowed it', async () => {
    const asked = discord.userMessage(WRITE, { dm: true, userId: ALICE });
    const channel = asked.channel_id as string;
    const card = await cardIn(channel);
    expect(card.content).toContain('Claude wants to run a command');
    expect(card.content).toContain('echo hi > made.txt');
    expect(buttons(card)).toEqual([
      { label: 'Allow once', customId: expect.stringMatching(/^ap:\d+:allow$/), style: 1 },
      { label: 'Allow in this conversation', customId: expect.stringMatching(/^ap:\d+:always$/), style: 2 },
      { label: 'Deny', customId: expect.stringMatching(/^ap:\d+:deny$/), style: 4 },
    ]);
    expect(card.allowed_mentions).toEqual({ parse: [] });
    expect(fs.existsSync(path.join(workspace(`discord:${channel}`), 'made.txt'))).toBe(false);

    const started = Date.now();
    const click = discord.click(card, 'Allow once', ALICE);
    expect(await callbackOf(click)).toEqual({ type: 6 });
    expect(Date.now() - started).toBeLessThan(3000);
    const answer = await answerIn(channel);
    expect(fs.readFileSync(path.join(workspace(`discord:${channel}`), 'made.txt'), 'utf8')).toBe('hi\n');
    await eventually(() => /\*\*Allowed once\*\* by alice/.test(card.content), 5000, 'the card says who allowed it');
    expect(card.components).toEqual([]);
    // The draft carried a Stop button while the answer was written; the final text has none.
    const sentToChannel = discord.rest.filter((c) => (c.method === 'POST' || c.method === 'PATCH') && c.path.startsWith(`/channels/${channel}/messages`));
    expect(sentToChannel.some((c) => (c.body.components ?? []).some((row: any) => row.components.some((b: any) => b.custom_id === 'stop' && b.label === 'Stop')))).toBe(true);
    expect(answer.components ?? []).toEqual([]);
  });

  it('refuses a click by someone other than the asker (ephemerally, nothing changes); Deny: nothing runs, Claude hears it', async () => {
    discord.userMessage(`<@${discord.botUser.id}> ${WRITE}`, { mentionBot: true, userId: ALICE });
    const thread = await eventually(() => discord.messages.find((m) => m.channel_id !== discord.channelId && buttons(m).some((b) => b.customId.startsWith('ap:')))?.channel_id, 30_000, 'the request in a thread');
    const card = await cardIn(thread);
    const conversation = `discord:${thread}`;
    const edits = card.edits;

    const stranger = discord.click(card, 'Allow once', BOB, 'bob');
    expect(await callbackOf(stranger)).toEqual({ type: 4, data: expect.objectContaining({ flags: 64, content: expect.stringMatching(/Only the person who asked/) }) });
    await new Promise((r) => setTimeout(r, 300));
    expect(card.edits).toBe(edits);
    expect(approvalsOf(conversation).map((a) => a.status)).toEqual(['pending']);

    expect(await callbackOf(discord.click(card, 'Deny', ALICE))).toEqual({ type: 6 });
    const answer = await answerIn(thread);
    expect(answer.content).toMatch(/denied this in the chat/);
    expect(fs.existsSync(path.join(workspace(conversation), 'made.txt'))).toBe(false);
    expect(approvalsOf(conversation)[0]).toMatchObject({ status: 'denied', decided_by: 'alice' });
    await eventually(() => /\*\*Denied\*\* by alice/.test(card.content), 5000, 'the card says who denied it');
    expect(card.components).toEqual([]);
  });

  it('a long input is shortened on the card; "Show all" sends the whole input to the clicker alone', async () => {
    const content = Array.from({ length: 60 }, (_, i) => `line ${i}`).join('\\n');
    const asked = discord.userMessage(`[[call Write {"file_path": "big.txt", "content": "${content}"}]]`, { dm: true, userId: BOB });
    const channel = asked.channel_id as string;
    const card = await cardIn(channel);
    expect(card.content).toContain('(shortened)');
    expect(card.content).not.toContain('line 59');
    expect(buttons(card).map((b) => b.label)).toEqual(['Allow once', 'Allow in this conversation', 'Deny', 'Show all']);

    const shown = await callbackOf(discord.click(card, 'Show all', BOB, 'bob'));
    expect(shown.multipart).toBe(true);
    expect(JSON.parse(shown.payload)).toMatchObject({ type: 4, data: { flags: 64 } });
    expect(shown.filenames).toEqual(['input.json']);
    expect(shown.text).toContain('line 59');
    expect(approvalsOf(`discord:${channel}`).map((a) => a.status)).toEqual(['pending']);

    expect(await callbackOf(discord.click(card, 'Deny', BOB, 'bob'))).toEqual({ type: 6 });
    await answerIn(channel);
    expect(fs.existsSync(path.join(workspace(`discord:${channel}`), 'big.txt'))).toBe(false);
    expect(card.components).toEqual([]);
  });

  it('a reply to the request denies it, with the reply as the reason Claude hears', async () => {
    const channel = discord.noThreadsChannelId;
    discord.userMessage(`<@${discord.botUser.id}> ${WRITE}`, { mentionBot: true, userId: ALICE, channelId: channel });
    const card = await cardIn(channel);
    // A reply mentions the author of the message it answers (Discord's default): here, the bot.
    discord.userMessage('not in this folder, please', { userId: ALICE, channelId: channel, replyTo: card.id, mentionBot: true });
    const answer = await answerIn(channel);
    expect(answer.content).toMatch(/denied this in the chat, saying: not in this folder, please/);
    expect(fs.existsSync(path.join(workspace(`discord:${channel}`), 'made.txt'))).toBe(false);
    await eventually(() => /\*\*Denied\*\* by alice: not in this folder, please/.test(card.content), 5000, 'the card says who denied it and why');
    expect(card.components).toEqual([]);
  });

  it('Allow in this conversation: the same command in the next turn runs without a second request', async () => {
    const { thread, card } = await askInNewThread();
    expect(await callbackOf(discord.click(card, 'Allow in this conversation', ALICE))).toEqual({ type: 6 });
    await answerIn(thread);
    fs.rmSync(path.join(workspace(`discord:${thread}`), 'made.txt'));
    discord.userMessage(WRITE, { userId: ALICE, channelId: thread });
    await answerIn(thread, 2);
    expect(fs.readFileSync(path.join(workspace(`discord:${thread}`), 'made.txt'), 'utf8')).toBe('hi\n');
    expect(discord.inChannel(thread).filter((m) => m.content.includes('Claude wants to run a command'))).toHaveLength(1);
    expect(approvalsOf(`discord:${thread}`).map((a) => a.decided_by)).toEqual(['alice', 'rule Bash(echo hi > made.txt)']);
  });

  it('a double click (Allow once and Deny at once) decides once; the other click is told it was already answered', async () => {
    const { thread, card } = await askInNewThread();
    const callbacks = await Promise.all([discord.click(card, 'Allow once', ALICE), discord.click(card, 'Deny', ALICE)].map(callbackOf));
    expect(callbacks).toContainEqual({ type: 6 });
    expect(callbacks).toContainEqual({ type: 4, data: expect.objectContaining({ flags: 64, content: expect.stringMatching(/already answered/) }) });
    await answerIn(thread);
    const [decided, ...more] = approvalsOf(`discord:${thread}`);
    expect(more).toEqual([]);
    expect(fs.existsSync(path.join(workspace(`discord:${thread}`), 'made.txt'))).toBe(decided!.status === 'allowed');
    expect(answersIn(thread)).toHaveLength(1);
  });

  it('nobody answering in time denies the request: the card and Claude\'s answer say so', async () => {
    await withApprovalTimeout(t, 2, async () => {
      const { thread, card } = await askInNewThread();
      expect((await answerIn(thread)).content).toMatch(/Nobody answered within 2 seconds/);
      await eventually(() => /Nobody answered within 2 seconds: denied/.test(card.content), 5000, 'the card says nobody answered');
      expect(card.components).toEqual([]);
      expect(fs.existsSync(path.join(workspace(`discord:${thread}`), 'made.txt'))).toBe(false);
    });
  });
});
