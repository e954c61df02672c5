/**
 * Discord, with discord.js: the gateway connection with only the intents needed, partials for DMs.
 *
 * DMs: every message is a prompt. Servers: a message that mentions the bot starts a thread from it
 * where the channel allows (the thread is the conversation; later messages there need no mention),
 * else the answer goes to the channel. Slash commands are registered at start (in one guild while
 * developing, globally otherwise), stored, deferred, and answered ephemerally (interactions.ts).
 * Every message goes out with allowed_mentions = none: nothing Claude writes can ping anyone.
 */
import fs from 'node:fs';
import {
  ChannelType, Client, DiscordAPIError, Events, GatewayIntentBits, HTTPError, MessageFlags, Partials, RateLimitError, Routes,
  type Interaction, type Message,
} from 'discord.js';
import { DeliveryError, type ChatAdapter, type AdapterCaps, type AdapterHost, type ReplyTarget, type ReplyText } from '../../src/adapter.js';
import { COMMANDS } from '../../src/commands.js';
import type { DiscordConfig } from './definition.js';
import type { FileKind, InboundFile } from '../../src/message.js';
import { InteractionReplies, NO_PINGS } from './interactions.js';
import { toDiscord } from './markdown.js';
import type { Card } from '../../src/adapter.js';
import { cardComponents, cardContent, componentsOf, type ButtonRow } from './buttons.js';
import { DiscordClicks } from './clicks.js';

/** What a Discord answer needs: the message to reply to, or the slash command's interaction. */
type DiscordReply = { replyTo?: string; interactionToken?: string; userId?: string; ephemeral?: boolean };

export class DiscordAdapter implements ChatAdapter<DiscordReply> {
  readonly platform = 'discord' as const;
  // 2,000 characters per message; escaping can add a few.
  readonly caps: AdapterCaps = { maxChars: 1900, editIntervalMs: 1000, typingIntervalMs: 8000, buttons: true };
  /** Two gateway sessions of one bot would each get every event. */
  readonly exclusiveConnection = true;
  readonly client: Client;
  private readonly clicks = new DiscordClicks();
  private host?: AdapterHost<DiscordReply>;
  private applicationId = '';
  private readonly interactions: InteractionReplies;
  /** Replies wait for the login: the gateway delivers what a restart left in the outbox before adapters start. */
  private readonly loggedIn: Promise<void>;
  private markLoggedIn = () => {};

  constructor(private readonly config: DiscordConfig) {
    const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.DirectMessages];
    if (config.message_content) intents.push(GatewayIntentBits.MessageContent);
    this.client = new Client({ intents, partials: [Partials.Channel], rest: { api: config.api_url }, allowedMentions: NO_PINGS });
    this.interactions = new InteractionReplies(this.client, () => this.applicationId, () => this.host?.log);
    this.loggedIn = new Promise((resolve) => (this.markLoggedIn = resolve));
  }

  async start(host: AdapterHost<DiscordReply>): Promise<void> {
    this.host = host;
    this.client.on(Events.MessageCreate, (message) => void this.onMessage(message).catch((err) => host.log.error({ err }, 'discord: message failed')));
    this.client.on(Events.InteractionCreate, (interaction) => void this.onInteraction(interaction).catch((err) => host.log.error({ err }, 'discord: interaction failed')));
    this.client.on(Events.InteractionCreate, (interaction) => void this.clicks.onInteraction(host, interaction).catch((err) => host.log.error({ err }, 'discord: button click failed')));
    this.client.on(Events.Error, (err) => host.log.error({ err: err.message }, 'discord: client error'));
    const ready = new Promise<void>((resolve) => this.client.once(Events.ClientReady, () => resolve()));
    await this.client.login(this.config.token);
    await ready;
    this.applicationId = this.client.application?.id ?? this.client.user!.id;
    this.markLoggedIn();
    await this.registerCommands().catch((err) => host.log.warn({ err }, 'discord: registering slash commands failed'));
    host.log.info({ bot: this.client.user?.tag }, 'discord: started');
  }

  async stop(): Promise<void> {
    await this.client.destroy();
  }

  private async registerCommands(): Promise<void> {
    const body = COMMANDS.map((c) => ({
      name: c.name,
      description: c.description.slice(0, 100),
      ...(c.args ? { options: [{ type: 3, name: 'args', description: c.args.slice(0, 100), required: c.args.startsWith('<') }] } : {}),
    }));
    const route = this.config.dev_guild_id
      ? Routes.applicationGuildCommands(this.applicationId, this.config.dev_guild_id)
      : Routes.applicationCommands(this.applicationId);
    await this.client.rest.put(route, { body });
  }

  private async onMessage(message: Message): Promise<void> {
    if (message.author.bot || message.author.id === this.client.user?.id) return;
    const me = this.client.user!.id;
    const channel = message.channel;
    const isDm = channel.type === ChannelType.DM || !message.guildId;
    const inOurThread = channel.isThread() && channel.ownerId === me;
    const mentioned = message.mentions.users.has(me);
    if (!isDm && !inOurThread && !mentioned) return;

    let chatId = message.channelId;
    if (!isDm && !channel.isThread() && mentioned && this.config.threads) {
      // The mention's own thread is the conversation; where threads are not possible, the channel is.
      const thread = await message.startThread({ name: threadName(message.content) }).catch(() => undefined);
      if (thread) chatId = thread.id;
    }
    const places = isDm ? undefined : [message.guildId!, channel.isThread() ? channel.parentId ?? message.channelId : message.channelId];
    const result = await this.host!.receive({
      address: { platform: 'discord', chatId },
      userId: message.author.id,
      userName: message.author.username,
      placeIds: places,
      messageId: message.id,
      // A reply to an approval request answers it (a reason to deny, an answer in the person's words).
      replyToRef: message.reference?.messageId,
      text: message.content.replace(new RegExp(`<@!?${me}>`, 'g'), '').trim(),
      // A voice message (recorded in the app) is one OGG/Opus attachment under the IsVoiceMessage flag.
      files: [...message.attachments.values()].map((a) => this.file(a.name, a.size, a.contentType ?? undefined, a.url, message.flags.has(MessageFlags.IsVoiceMessage) ? 'voice' : undefined)),
      unsupported: message.stickers.size ? 'stickers' : message.poll ? 'polls' : undefined,
      replyContext: chatId === message.channelId && !isDm ? { replyTo: message.id } : undefined,
    });
    if (result.status === 'refused' && result.text) {
      await this.client.rest.post(Routes.channelMessages(chatId), { body: { content: result.text, allowed_mentions: NO_PINGS, message_reference: { message_id: message.id, fail_if_not_exists: false } } }).catch(() => {});
    }
  }

  private async onInteraction(interaction: Interaction): Promise<void> {
    if (!interaction.isChatInputCommand()) return;
    const args = interaction.options.getString('args') ?? '';
    const channelId = interaction.channelId;
    const isDm = !interaction.guildId;
    // Stored first, deferred the moment it is stored (Discord allows 3 s, a store takes well under a
    // millisecond, and the command itself may take longer): a crash in between leaves the command in
    // the inbox, run and answered after restart.
    const result = await this.host!.receive({
      address: { platform: 'discord', chatId: channelId },
      userId: interaction.user.id,
      placeIds: isDm ? undefined : [interaction.guildId!, channelId],
      messageId: `interaction:${interaction.id}`,
      text: `/${interaction.commandName} ${args}`.trim(),
      replyContext: { interactionToken: interaction.token, userId: interaction.user.id, ephemeral: true },
    }, { onStored: () => this.interactions.defer(interaction) });
    if (result.status === 'refused' && result.text) {
      await interaction.reply({ content: result.text, flags: MessageFlags.Ephemeral, allowedMentions: NO_PINGS });
    }
  }

  private file(name: string, size: number, mime: string | undefined, url: string, kind?: FileKind): InboundFile {
    return {
      name, size, mime, kind,
      download: async () => {
        const res = await fetch(url);
        if (!res.ok) throw new Error(`download failed with HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }

  async post(target: ReplyTarget<DiscordReply>, reply: ReplyText): Promise<string> {
    const content = render(reply);
    const token = target.context?.interactionToken;
    if (token) return this.call(() => this.interactions.post(token, target.context?.userId, content));
    const replyTo = target.context?.replyTo;
    const sent = await this.call(() => this.client.rest.post(Routes.channelMessages(target.address.chatId), {
      body: { content, allowed_mentions: NO_PINGS, ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}), ...(reply.actions ? { components: componentsOf([reply.actions]) } : {}) },
    })) as { id: string };
    return sent.id;
  }

  async edit(target: ReplyTarget<DiscordReply>, ref: string, reply: ReplyText): Promise<void> {
    if (!target.context?.interactionToken) return this.editInChannel(target.address.chatId, ref, render(reply), componentsOf(reply.actions && [reply.actions]));
    const content = render(reply);
    const token = target.context?.interactionToken;
    if (await this.call(() => this.interactions.edit(token, ref, content))) return;
    await this.call(() => this.client.rest.patch(Routes.channelMessage(target.address.chatId, ref), { body: { content, allowed_mentions: NO_PINGS } }));
  }

  /** Edits a channel message and its buttons: [] removes them (a draft's Stop, once the answer is final). */
  private async editInChannel(channelId: string, ref: string, content: string, components: ButtonRow[]): Promise<void> {
    await this.call(() => this.client.rest.patch(Routes.channelMessage(channelId, ref), { body: { content, allowed_mentions: NO_PINGS, components } }));
  }

  async postCard(target: ReplyTarget<DiscordReply>, card: Card): Promise<string> {
    const replyTo = target.context?.replyTo;
    const sent = await this.call(() => this.client.rest.post(Routes.channelMessages(target.address.chatId), {
      body: {
        content: cardContent(card), allowed_mentions: NO_PINGS, components: cardComponents(card),
        ...(replyTo ? { message_reference: { message_id: replyTo, fail_if_not_exists: false } } : {}),
      },
    })) as { id: string };
    this.clicks.remember(sent.id, card);
    return sent.id;
  }

  async editCard(target: ReplyTarget<DiscordReply>, ref: string, card: Card): Promise<void> {
    await this.editInChannel(target.address.chatId, ref, cardContent(card), cardComponents(card));
    this.clicks.remember(ref, card);
  }

  async remove(target: ReplyTarget<DiscordReply>, ref: string): Promise<void> {
    if (await this.call(() => this.interactions.remove(ref))) return;
    await this.call(() => this.client.rest.delete(Routes.channelMessage(target.address.chatId, ref)));
  }

  async typing(target: ReplyTarget<DiscordReply>): Promise<void> {
    if (target.context?.interactionToken) return; // the deferred reply already shows "thinking…"
    await this.call(() => this.client.rest.post(Routes.channelTyping(target.address.chatId)));
  }

  async sendFile(target: ReplyTarget<DiscordReply>, file: { path: string; name: string }): Promise<void> {
    const data = fs.readFileSync(file.path);
    const token = target.context?.interactionToken;
    if (token) {
      await this.call(() => this.interactions.sendFile(token, target.context?.userId, { name: file.name, data }));
      return;
    }
    await this.call(() => this.client.rest.post(Routes.channelMessages(target.address.chatId), {
      body: { content: '', allowed_mentions: NO_PINGS, attachments: [{ id: 0, filename: file.name }] },
      files: [{ name: file.name, data }],
    }));
  }

  /** discord.js waits out rate limits itself; what reaches here is a real failure. */
  private async call<T>(send: () => Promise<T>): Promise<T> {
    await this.loggedIn;
    try {
      return await send();
    } catch (err) {
      throw toDeliveryError(err);
    }
  }
}

function render(reply: ReplyText): string {
  const body = reply.markdown ? toDiscord(reply.markdown) : '';
  const status = reply.status ? `-# ⚙️ ${reply.status.replace(/[\\*_~`|]/g, '\\$&')}` : '';
  return [body, status].filter(Boolean).join('\n\n') || '…';
}

function threadName(content: string): string {
  const text = content.replace(/<@!?\d+>/g, '').replace(/\s+/g, ' ').trim();
  return (text.length > 60 ? text.slice(0, 59) + '…' : text) || 'Claude';
}

function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof RateLimitError) return new DeliveryError(`Discord rate limit on ${err.route}`, true, err.retryAfter);
  if (err instanceof DiscordAPIError) {
    return new DeliveryError(`Discord ${err.status} (${err.code}): ${err.message}`, err.status >= 500 || err.status === 429);
  }
  if (err instanceof HTTPError) return new DeliveryError(`Discord HTTP ${err.status}`, err.status >= 500);
  return new DeliveryError(err instanceof Error ? err.message : String(err), true);
}
