/**
 * Discord end to end: real discord.js against a loopback REST + gateway stand-in, the real `claude`
 * CLI against the Anthropic stand-in.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fenceAfter } from '../../src/reply/chunk.js';
import { AnthropicFake, longMarkdown } from '../../test/support/anthropic-fake.js';
import { DiscordFake } from '../../test/support/discord-fake.js';
import { startTestGateway, type TestGateway } from '../../test/support/gateway.js';
import { eventually } from '../../test/support/harness.js';
import { DiscordAdapter } from './index.js';

const anthropic = new AnthropicFake();
const discord = new DiscordFake();
let t: TestGateway;
const ALICE = '600000000000000001';

function idle(): boolean {
  const counts = t.gateway.store.messages.counts();
  return !counts.running && !counts.queued && t.gateway.store.outbox.pendingCount() === 0;
}

beforeAll(async () => {
  await Promise.all([anthropic.start(), discord.start()]);
  t = await startTestGateway(anthropic, {
    config: { discord: { token: 'fake.discord.token', api_url: discord.api, allowed_users: [ALICE], dev_guild_id: discord.guildId } },
    adapters: (config) => [new DiscordAdapter(config.discord)],
  });
});
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), discord.stop()]);
});

describe('Discord', () => {
  it('registers the slash commands in the development guild', () => {
    const [put] = discord.callsTo('PUT', /^\/applications\/\d+\/guilds\/\d+\/commands$/);
    expect(put!.body.map((c: any) => c.name)).toEqual(expect.arrayContaining(['new', 'session', 'forget', 'stop', 'status', 'help']));
  });

  it('answers a DM, typing first, editing as it streams', async () => {
    anthropic.respond = (req) => (req.prompt === 'hello from a dm' ? { text: 'a **streamed** reply in small pieces', chunkSize: 5, delayMs: 60 } : undefined);
    const message = discord.userMessage('hello from a dm', { dm: true });
    await eventually(() => discord.inChannel(message.channel_id).length === 1 && idle(), 30_000, 'dm answer');
    anthropic.respond = undefined;
    const [reply] = discord.inChannel(message.channel_id);
    expect(reply!.content).toBe('a **streamed** reply in small pieces');
    expect(reply!.edits).toBeGreaterThan(0);
    expect(discord.callsTo('POST', new RegExp(`^/channels/${message.channel_id}/typing$`)).length).toBeGreaterThan(0);
  });

  it('answers a mention in a server channel in a thread started from it; the thread continues without mentions', async () => {
    const mention = discord.userMessage(`<@${discord.botUser.id}> what is in the thread?`, { mentionBot: true });
    await eventually(() => discord.callsTo('POST', /\/threads$/).length === 1 && idle() && discord.messages.some((m) => m.content === 'echo: what is in the thread?'), 30_000, 'thread answer');
    const threadCall = discord.callsTo('POST', new RegExp(`^/channels/${discord.channelId}/messages/${mention.id}/threads$`))[0]!;
    expect(threadCall.body.name).toBe('what is in the thread?');
    const answer = discord.messages.find((m) => m.content === 'echo: what is in the thread?')!;
    const threadId = answer.channel_id;
    expect(threadId).not.toBe(discord.channelId);
    discord.userMessage('and a follow-up', { channelId: threadId });
    await eventually(() => discord.inChannel(threadId).length === 2 && idle(), 30_000, 'follow-up in thread');
    expect(discord.inChannel(threadId)[1]!.content).toBe('echo: and a follow-up');
    expect(JSON.stringify(anthropic.requests.at(-1)!.body.messages)).toContain('echo: what is in the thread?');
    // Messages in the channel without a mention are not for the bot.
    const before = anthropic.prompts().length;
    discord.userMessage('people talking among themselves');
    await new Promise((r) => setTimeout(r, 500));
    expect(anthropic.prompts().length).toBe(before);
  });

  it('answers in the channel, as a reply, where threads cannot be started', async () => {
    const mention = discord.userMessage(`<@${discord.botUser.id}> no threads here`, { mentionBot: true, channelId: discord.noThreadsChannelId });
    await eventually(() => discord.inChannel(discord.noThreadsChannelId).length === 1 && idle(), 30_000, 'channel answer');
    expect(discord.inChannel(discord.noThreadsChannelId)[0]).toMatchObject({ content: 'echo: no threads here', message_reference: { message_id: mention.id } });
  });

  it('defers a slash command within 3 s and answers it ephemerally', async () => {
    const started = Date.now();
    const { id, token } = discord.slashCommand('status', undefined);
    await eventually(() => discord.callsTo('POST', new RegExp(`^/interactions/${id}/${token}/callback$`)).length === 1, 3000, 'deferral');
    expect(Date.now() - started).toBeLessThan(3000);
    const callback = discord.callsTo('POST', /\/callback$/).at(-1)!;
    expect(callback.body).toMatchObject({ type: 5, data: { flags: 64 } });
    await eventually(() => discord.inChannel(`interaction:${token}`).length === 1, 10_000, 'edited deferral');
    expect(discord.inChannel(`interaction:${token}`)[0]!.content).toMatch(/^Queue \(sqlite\)/);
  });

  it('splits a 6,000-character answer into messages under 2,000 characters, code blocks intact', async () => {
    anthropic.respond = (req) => (req.prompt === 'long answer please' ? { text: longMarkdown(6000), chunkSize: 800 } : undefined);
    const message = discord.userMessage('long answer please', { dm: true, userId: ALICE });
    await eventually(() => discord.inChannel(message.channel_id).length >= 4 && idle(), 30_000, 'long answer');
    anthropic.respond = undefined;
    const parts = discord.inChannel(message.channel_id).slice(1);
    expect(parts.length).toBeGreaterThanOrEqual(3);
    for (const part of parts) {
      expect(part.content.length).toBeLessThanOrEqual(2000);
      expect(fenceAfter(part.content, undefined)).toBeUndefined();
    }
    expect(parts.map((p) => p.content).join('\n')).toContain('```ts\nconst value3_0');
  });

  it('never pings: @everyone in an answer goes out with allowed_mentions none', async () => {
    anthropic.respond = (req) => (req.prompt === 'ping them' ? { text: 'Hey @everyone and @here, look at <@123456789012345678>!' } : undefined);
    const message = discord.userMessage('ping them', { dm: true });
    await eventually(() => discord.inChannel(message.channel_id).some((m) => m.content.includes('@everyone')) && idle(), 30_000, 'answer');
    anthropic.respond = undefined;
    const sent = discord.messages.filter((m) => m.content.includes('@everyone'));
    expect(sent.length).toBeGreaterThan(0);
    for (const m of discord.messages) expect(m.pingsEveryone).toBe(false);
    for (const call of discord.rest.filter((c) => c.method !== 'GET' && c.body?.content !== undefined)) expect(call.body.allowed_mentions).toEqual({ parse: [] });
  });

  it('refuses a user who is not allowed, once, and nothing reaches the CLI', async () => {
    const before = anthropic.prompts().length;
    const stranger = '611111111111111111';
    const first = discord.userMessage('let me in', { dm: true, userId: stranger });
    await eventually(() => discord.inChannel(first.channel_id).length === 1, 10_000, 'refusal');
    discord.userMessage('please', { dm: true, userId: stranger });
    await new Promise((r) => setTimeout(r, 800));
    expect(discord.inChannel(first.channel_id).map((m) => m.content)).toEqual([
      `Sorry, this is a private bot and you are not on its allow-list. (Your user id is ${stranger}; the owner can add it to discord.allowed_users.)`,
    ]);
    expect(anthropic.prompts().length).toBe(before);
  });

  it('downloads attachments into the workspace', async () => {
    discord.files.set('att-1', Buffer.from('print("hi")\n'));
    const before = discord.messages.length;
    discord.userMessage('review this', { dm: true, attachments: [{ id: 'att-1', filename: 'script.py', size: 12, content_type: 'text/x-python' }] });
    await eventually(() => discord.messages.length > before && idle(), 30_000, 'answer');
    expect(anthropic.prompts().find((p) => p.startsWith('review this'))).toContain('uploads/script.py (text/x-python, 12 B)');
  });
});
