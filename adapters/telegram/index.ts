/**
 * Telegram, with grammY: long polling by default, a webhook on the gateway's HTTP server when
 * `telegram.webhook_url` is set.
 *
 * Private chats: every message is a prompt. Groups: only messages that mention the bot, reply to
 * it, or start with a command (to it, or to no bot in particular). A forum topic is a conversation
 * of its own. Answers are Telegram HTML (or MarkdownV2) rendered from Claude's Markdown; a chunk
 * Telegram cannot parse is sent again as plain text rather than lost.
 */
import { Bot, GrammyError, HttpError, InputFile, webhookCallback, type Context } from 'grammy';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Message, MessageEntity, Update } from 'grammy/types';
import { DeliveryError, type ChatAdapter, type AdapterCaps, type AdapterHost, type Card, type CardAction, type ReplyTarget, type ReplyText } from '../../src/adapter.js';
import { COMMANDS } from '../../src/commands.js';
import type { TelegramConfig } from './definition.js';
import type { FileKind, InboundFile, InboundMessage } from '../../src/message.js';
import { toPlainText } from '../../src/reply/markdown.js';
import { statusLine, toTelegram, type ParseMode } from './markdown.js';

/** What a Telegram answer needs: in groups, the message it replies to. */
type TelegramReply = { replyTo?: number };

export class TelegramAdapter implements ChatAdapter<TelegramReply> {
  readonly platform = 'telegram' as const;
  // 4096 characters after entity parsing; Markdown markers vanish, so 4000 of Markdown is safe.
  readonly caps: AdapterCaps = { maxChars: 4000, editIntervalMs: 1000, typingIntervalMs: 4500, buttons: true };
  readonly bot: Bot;
  private host?: AdapterHost<TelegramReply>;
  private polling = false;

  constructor(private readonly config: TelegramConfig) {
    this.bot = new Bot(config.token, { client: { apiRoot: config.api_root } });
  }

  /** Long polling: two getUpdates loops of one bot conflict (409). A webhook reaches any gateway. */
  get exclusiveConnection(): boolean {
    return !this.config.webhook_url;
  }

  private get mode(): ParseMode {
    return this.config.parse_mode;
  }

  async start(host: AdapterHost<TelegramReply>): Promise<void> {
    this.host = host;
    this.bot.on(['message', 'channel_post'], (ctx) => this.onMessage(ctx));
    this.bot.on('callback_query:data', (ctx) => this.onButton(ctx));
    this.bot.catch((err) => host.log.error({ err: err.error instanceof Error ? err.error.message : String(err.error) }, 'telegram: update failed'));
    await this.bot.init();
    await this.bot.api.setMyCommands(COMMANDS.map((c) => ({ command: c.name, description: c.description.slice(0, 256) }))).catch((err) => {
      host.log.warn({ err }, 'telegram: setMyCommands failed; the command menu may be stale');
    });
    if (this.config.webhook_url) {
      const path = new URL(this.config.webhook_url).pathname || '/telegram';
      host.mount(path, this.webhookHandler());
      await this.bot.api.setWebhook(this.config.webhook_url, {
        secret_token: this.config.webhook_secret || undefined,
        allowed_updates: ['message', 'callback_query'],
      });
    } else {
      await this.bot.api.deleteWebhook();
      this.polling = true;
      // Not awaited: start() resolves only when polling stops.
      void this.bot.start({ allowed_updates: ['message', 'callback_query'], drop_pending_updates: false }).catch((err) => {
        host.log.error({ err }, 'telegram: polling stopped');
      });
    }
    host.log.info({ bot: this.bot.botInfo.username, mode: this.config.webhook_url ? 'webhook' : 'polling' }, 'telegram: started');
  }

  async stop(): Promise<void> {
    if (this.polling) await this.bot.stop();
    this.polling = false;
  }

  /**
   * The webhook endpoint: grammY's webhook callback (which answers 401 without the right
   * X-Telegram-Bot-Api-Secret-Token), fed a body that was checked to be an update first, so junk
   * gets a 400 instead of an exception.
   */
  private webhookHandler(): (req: IncomingMessage, res: ServerResponse) => void {
    const secret = this.config.webhook_secret || undefined;
    const callback = webhookCallback(this.bot, (req: IncomingMessage, res: ServerResponse, update: Update) => ({
      update,
      header: req.headers['x-telegram-bot-api-secret-token'] as string | undefined,
      end: () => res.end(),
      respond: (json: string) => res.writeHead(200, { 'content-type': 'application/json' }).end(json),
      unauthorized: () => res.writeHead(401).end('secret token is wrong'),
    }), { secretToken: secret });
    return (req, res) => {
      void readUpdate(req).then((update) => {
        if (!update) {
          res.writeHead(400).end('not a Telegram update');
          return;
        }
        return callback(req, res, update);
      }).catch((err) => {
        this.host?.log.error({ err }, 'telegram: webhook request failed');
        if (!res.headersSent) res.writeHead(500).end();
      });
    };
  }

  private async onMessage(ctx: Context): Promise<void> {
    const message = ctx.message ?? ctx.channelPost;
    if (!message || !message.from || message.from.is_bot) return;
    const inbound = this.normalize(message);
    if (!inbound) return;
    const result = await this.host!.receive(inbound);
    if (result.status === 'refused' && result.text) {
      await ctx.reply(result.text, { ...this.threadOf(message), reply_parameters: { message_id: message.message_id, allow_sending_without_reply: true } }).catch(() => {});
    }
  }

  /**
   * A press on one of the bot's inline buttons. The presser is Telegram's `from` (the update comes
   * from Telegram, verified by the webhook secret or polling), never the button's data. The answer
   * shows as a toast; a refusal as an alert the presser must dismiss.
   */
  private async onButton(ctx: Context): Promise<void> {
    const query = ctx.callbackQuery!;
    const message = query.message;
    if (!message || !query.data) {
      await ctx.answerCallbackQuery().catch(() => {});
      return;
    }
    const threadId = 'is_topic_message' in message && message.is_topic_message && message.message_thread_id ? String(message.message_thread_id) : undefined;
    const result = await this.host!.act({
      address: { platform: 'telegram', chatId: String(message.chat.id), threadId },
      userId: String(query.from.id),
      userName: query.from.username ? `@${query.from.username}` : query.from.first_name,
      actionId: query.data,
      messageRef: String(message.message_id),
    });
    await ctx.answerCallbackQuery({ text: result.text.slice(0, 200), show_alert: !result.ok }).catch(() => {});
  }

  /** The message as cligate sees it, or undefined when it is not for the bot (group chatter). */
  normalize(message: Message): InboundMessage<TelegramReply> | undefined {
    const me = this.bot.botInfo;
    const text = message.text ?? message.caption ?? '';
    const entities = message.entities ?? message.caption_entities ?? [];
    const isPrivate = message.chat.type === 'private';
    if (!isPrivate) {
      const command = entities.find((e) => e.type === 'bot_command' && e.offset === 0);
      const commandTarget = command ? text.slice(0, command.length).split('@')[1] : undefined;
      const addressed = (command && (!commandTarget || commandTarget.toLowerCase() === me.username.toLowerCase()))
        || mentions(text, entities, me.username, me.id)
        || message.reply_to_message?.from?.id === me.id;
      if (!addressed) return undefined;
    }
    const cleaned = stripMention(text, me.username);
    const files = this.filesOf(message);
    const unsupported = files.length ? undefined : unsupportedKind(message);
    if (!cleaned && !files.length && !unsupported) return undefined;
    const threadId = message.is_topic_message && message.message_thread_id ? String(message.message_thread_id) : undefined;
    return {
      address: { platform: 'telegram', chatId: String(message.chat.id), threadId },
      userId: String(message.from!.id),
      userName: message.from!.username,
      // A direct chat is the user's own; groups must also be allowed when allowed_chats is set.
      placeIds: isPrivate ? undefined : [String(message.chat.id)],
      messageId: `${message.chat.id}:${message.message_id}`,
      text: cleaned,
      files,
      unsupported,
      replyToRef: message.reply_to_message ? String(message.reply_to_message.message_id) : undefined,
      replyContext: isPrivate ? undefined : { replyTo: message.message_id },
    };
  }

  private filesOf(message: Message): InboundFile[] {
    const files: InboundFile[] = [];
    const largest = message.photo?.at(-1);
    if (largest) files.push(this.file(largest.file_id, `photo-${message.message_id}.jpg`, largest.file_size, 'image/jpeg'));
    if (message.document) {
      const d = message.document;
      files.push(this.file(d.file_id, d.file_name ?? `document-${message.message_id}`, d.file_size, d.mime_type));
    }
    // Voice notes are OGG/Opus; audio files are what was sent (often MP3); video notes are MP4.
    if (message.voice) files.push(this.file(message.voice.file_id, `voice-${message.message_id}.ogg`, message.voice.file_size, message.voice.mime_type ?? 'audio/ogg', 'voice'));
    if (message.audio) {
      const a = message.audio;
      files.push(this.file(a.file_id, a.file_name ?? `audio-${message.message_id}${a.mime_type === 'audio/ogg' ? '.ogg' : '.mp3'}`, a.file_size, a.mime_type, 'audio'));
    }
    if (message.video_note) files.push(this.file(message.video_note.file_id, `video-note-${message.message_id}.mp4`, message.video_note.file_size, 'video/mp4', 'voice'));
    return files;
  }

  private file(fileId: string, name: string, size: number | undefined, mime: string | undefined, kind?: FileKind): InboundFile {
    return {
      name, size, mime, kind,
      download: async () => {
        const file = await this.bot.api.getFile(fileId);
        if (!file.file_path) throw new Error('Telegram gave no download path');
        const res = await fetch(`${this.config.api_root}/file/bot${this.config.token}/${file.file_path}`);
        if (!res.ok) throw new Error(`download failed with HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }

  /** Posts a message, with `rows` of buttons under it (a draft's Stop, a card's choices). */
  async post(target: ReplyTarget<TelegramReply>, reply: ReplyText, rows: CardAction[][] = reply.actions ? [reply.actions] : []): Promise<string> {
    const chatId = target.address.chatId;
    const replyTo = target.context?.replyTo;
    const other = {
      ...(target.address.threadId ? { message_thread_id: Number(target.address.threadId) } : {}),
      ...(replyTo ? { reply_parameters: { message_id: replyTo, allow_sending_without_reply: true } } : {}),
      link_preview_options: { is_disabled: true },
    };
    const sent = await this.call(
      () => this.bot.api.sendMessage(chatId, this.render(reply), { ...other, ...keyboard(rows), parse_mode: this.mode }),
      () => this.bot.api.sendMessage(chatId, plain(reply), { ...other, ...keyboard(rows) }),
    );
    return String(sent.message_id);
  }

  async postCard(target: ReplyTarget<TelegramReply>, card: Card): Promise<string> {
    return this.post(target, { markdown: card.markdown, partial: false }, card.actions);
  }

  async editCard(target: ReplyTarget<TelegramReply>, ref: string, card: Card): Promise<void> {
    await this.edit(target, ref, { markdown: card.markdown, partial: false }, card.actions);
  }

  /** Edits a message; its buttons become `rows` (a draft's Stop, a card's choices), or go. */
  async edit(target: ReplyTarget<TelegramReply>, ref: string, reply: ReplyText, rows: CardAction[][] = reply.actions ? [reply.actions] : []): Promise<void> {
    const chatId = target.address.chatId;
    const other = { link_preview_options: { is_disabled: true }, reply_markup: { inline_keyboard: inlineRows(rows) } };
    try {
      await this.call(
        () => this.bot.api.editMessageText(chatId, Number(ref), this.render(reply), { ...other, parse_mode: this.mode }),
        () => this.bot.api.editMessageText(chatId, Number(ref), plain(reply), other),
      );
    } catch (err) {
      // Same text as shown: nothing to do.
      if (err instanceof DeliveryError && /message is not modified/i.test(err.message)) return;
      throw err;
    }
  }

  async remove(target: ReplyTarget<TelegramReply>, ref: string): Promise<void> {
    await this.call(() => this.bot.api.deleteMessage(target.address.chatId, Number(ref)));
  }

  async typing(target: ReplyTarget<TelegramReply>): Promise<void> {
    await this.bot.api.sendChatAction(target.address.chatId, 'typing', target.address.threadId ? { message_thread_id: Number(target.address.threadId) } : {});
  }

  async sendFile(target: ReplyTarget<TelegramReply>, file: { path: string; name: string }): Promise<void> {
    await this.call(() => this.bot.api.sendDocument(target.address.chatId, new InputFile(file.path, file.name), {
      ...(target.address.threadId ? { message_thread_id: Number(target.address.threadId) } : {}),
    }));
  }

  private render(reply: ReplyText): string {
    const body = reply.markdown ? toTelegram(reply.markdown, this.mode) : '';
    const status = reply.status ? statusLine(reply.status, this.mode) : '';
    return [body, status].filter(Boolean).join('\n\n') || '…';
  }

  /**
   * Runs a Bot API call, turning its errors into delivery errors: 429 waits for retry_after, 5xx and
   * network errors are retried, other 4xx are final. A markup Telegram cannot parse goes out again
   * through `fallback` (plain text).
   */
  private async call<T>(send: () => Promise<T>, fallback?: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      if (fallback && err instanceof GrammyError && err.error_code === 400 && /can't parse entities|unsupported start tag|can't find end/i.test(err.description)) {
        this.host?.log.warn({ description: err.description }, 'telegram: markup rejected; sending plain text');
        return this.call(fallback);
      }
      throw toDeliveryError(err);
    }
  }

  private threadOf(message: Message): { message_thread_id?: number } {
    return message.is_topic_message && message.message_thread_id ? { message_thread_id: message.message_thread_id } : {};
  }
}

/** The request body, if it is a Telegram update (an object with a numeric update_id); at most 1 MB. */
async function readUpdate(req: IncomingMessage): Promise<Update | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1024 * 1024) return undefined;
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    return value && typeof value === 'object' && typeof value.update_id === 'number' ? (value as Update) : undefined;
  } catch {
    return undefined;
  }
}

function inlineRows(rows: CardAction[][]): { text: string; callback_data: string }[][] {
  return rows.filter((row) => row.length).map((row) => row.map((a) => ({ text: a.label, callback_data: a.id })));
}

/** Buttons for a new message: none at all rather than an empty keyboard. */
function keyboard(rows: CardAction[][]): { reply_markup?: { inline_keyboard: { text: string; callback_data: string }[][] } } {
  const inline = inlineRows(rows);
  return inline.length ? { reply_markup: { inline_keyboard: inline } } : {};
}

function plain(reply: ReplyText): string {
  const text = reply.markdown ? toPlainText(reply.markdown) : '';
  return [text, reply.status ? `⚙️ ${reply.status}` : ''].filter(Boolean).join('\n\n') || '…';
}

export function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof GrammyError) {
    if (err.error_code === 429) {
      const after = Number(err.parameters?.retry_after ?? 1);
      return new DeliveryError(`Telegram 429: ${err.description}`, true, after * 1000);
    }
    return new DeliveryError(`Telegram ${err.error_code}: ${err.description}`, err.error_code >= 500);
  }
  if (err instanceof HttpError) return new DeliveryError(`Telegram unreachable: ${err.message}`, true);
  return new DeliveryError(err instanceof Error ? err.message : String(err), true);
}

function mentions(text: string, entities: MessageEntity[], username: string, id: number): boolean {
  return entities.some((e) =>
    (e.type === 'mention' && text.slice(e.offset, e.offset + e.length).toLowerCase() === `@${username.toLowerCase()}`)
    || (e.type === 'text_mention' && e.user.id === id));
}

/** What a message holds that cligate cannot pass on to Claude, named for the reply that says so. */
function unsupportedKind(message: Message): string | undefined {
  if (message.sticker) return 'stickers';
  if (message.poll) return 'polls';
  if (message.location || message.venue) return 'locations';
  if (message.contact) return 'contacts';
  if (message.dice) return 'dice';
  if (message.video) return 'videos';
  if (message.animation) return 'GIFs';
  if (message.game) return 'games';
  return undefined;
}

function stripMention(text: string, username: string): string {
  return text.replace(new RegExp(`\\s*@${username}\\b`, 'gi'), '').trim();
}
