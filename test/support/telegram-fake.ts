/**
 * A loopback stand-in for the Telegram Bot API, enough for grammY: long polling (with real offset
 * and timeout semantics), webhooks, messages and edits, chat actions, commands, files. Tests play
 * the user with `userMessage`, read what the bot did from `calls` and `chat`, and inject failures
 * (`failNext`) or a markup rejection (`rejectMarkup`).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Call {
  method: string;
  params: Record<string, any>;
  at: number;
}

export interface BotMessage {
  message_id: number;
  chat_id: string;
  text: string;
  parse_mode?: string;
  thread_id?: number;
  reply_to?: number;
  edits: number;
  /** The inline keyboard's buttons, row by row: text and callback data. */
  buttons?: { text: string; data: string }[][];
}

interface Failure {
  method: string;
  status: number;
  description: string;
  retryAfter?: number;
}

export class TelegramFake {
  readonly token = '123456:TEST-token-abcdefghijklmnop';
  readonly botInfo = { id: 999, is_bot: true, first_name: 'cligate', username: 'cligate_test_bot', can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false };
  readonly calls: Call[] = [];
  readonly messages: BotMessage[] = [];
  readonly files = new Map<string, Buffer>();
  /** Text for which a parse_mode request is refused with "can't parse entities". */
  rejectMarkup?: (text: string) => boolean;
  webhook?: { url: string; secret?: string };
  url = '';
  private server?: http.Server;
  private updates: any[] = [];
  /** The highest offset the bot asked from: every update below it was handled (grammY handles them in order). */
  private confirmed = 0;
  private polls = 0;
  /** Updates to serve once more, and the poll that served them (the next poll means they were handled). */
  private again: any[] = [];
  private readonly againServedAt = new Map<any, number>();
  private updateId = 100;
  private messageId = 1000;
  private failures: Failure[] = [];
  private waiting: (() => void)[] = [];
  private listeners: (() => void)[] = [];

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const release of this.waiting.splice(0)) release();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next `method` calls fail with this status (repeat for several). */
  failNext(method: string, status: number, description: string, retryAfter?: number): void {
    this.failures.push({ method, status, description, retryAfter });
  }

  /** A user sends a message; returns the update. */
  userMessage(m: {
    chatId: number; userId: number; text?: string; chatType?: 'private' | 'group' | 'supergroup'; threadId?: number;
    replyToBot?: number; entities?: any[]; photo?: { fileId: string; size: number }; document?: { fileId: string; name: string; size: number; mime: string };
    caption?: string; messageId?: number;
    /** A voice note (OGG/Opus) or an audio file, served from `files` under its fileId. */
    voice?: { fileId: string; size: number; duration: number }; audio?: { fileId: string; name: string; size: number; mime: string; duration: number };
    /** What cligate cannot use: a sticker, a poll, a location. */
    sticker?: boolean; poll?: boolean; location?: boolean;
  }): any {
    const type = m.chatType ?? 'private';
    const message: any = {
      message_id: m.messageId ?? ++this.messageId,
      date: Math.floor(Date.now() / 1000),
      chat: type === 'private' ? { id: m.chatId, type, first_name: 'User' } : { id: m.chatId, type, title: 'Group', ...(m.threadId ? { is_forum: true } : {}) },
      from: { id: m.userId, is_bot: false, first_name: 'User', username: `user${m.userId}` },
    };
    if (m.text !== undefined) message.text = m.text;
    if (m.caption !== undefined) message.caption = m.caption;
    const entities = m.entities ?? autoEntities(m.text ?? m.caption ?? '');
    if (entities.length) message[m.text !== undefined ? 'entities' : 'caption_entities'] = entities;
    if (m.threadId) Object.assign(message, { message_thread_id: m.threadId, is_topic_message: true });
    if (m.replyToBot) message.reply_to_message = { message_id: m.replyToBot, date: message.date, chat: message.chat, from: this.botInfo, text: 'earlier' };
    if (m.photo) message.photo = [{ file_id: m.photo.fileId + '-small', file_unique_id: 's', width: 90, height: 90, file_size: 100 }, { file_id: m.photo.fileId, file_unique_id: 'l', width: 800, height: 600, file_size: m.photo.size }];
    if (m.document) message.document = { file_id: m.document.fileId, file_unique_id: 'd', file_name: m.document.name, mime_type: m.document.mime, file_size: m.document.size };
    if (m.voice) message.voice = { file_id: m.voice.fileId, file_unique_id: 'v', duration: m.voice.duration, mime_type: 'audio/ogg', file_size: m.voice.size };
    if (m.audio) message.audio = { file_id: m.audio.fileId, file_unique_id: 'a', duration: m.audio.duration, file_name: m.audio.name, mime_type: m.audio.mime, file_size: m.audio.size };
    if (m.sticker) message.sticker = { file_id: 'st', file_unique_id: 'st', type: 'regular', width: 512, height: 512, is_animated: false, is_video: false, emoji: '👍' };
    if (m.poll) message.poll = { id: 'p', question: 'Which?', options: [{ text: 'a', voter_count: 0 }, { text: 'b', voter_count: 0 }], total_voter_count: 0, is_closed: false, is_anonymous: true, type: 'regular', allows_multiple_answers: false };
    if (m.location) message.location = { latitude: 52.52, longitude: 13.4 };
    const update = { update_id: ++this.updateId, message };
    void this.deliver(update);
    return update;
  }

  /** A user presses an inline button under one of the bot's messages; returns the update. */
  clickButton(m: { chatId: number; userId: number; messageId: number; data: string }): any {
    const message = this.messages.find((x) => x.chat_id === String(m.chatId) && x.message_id === m.messageId);
    const update = {
      update_id: ++this.updateId,
      callback_query: {
        id: `cb${this.updateId}`, chat_instance: 'ci', data: m.data,
        from: { id: m.userId, is_bot: false, first_name: 'User', username: `user${m.userId}` },
        message: { message_id: m.messageId, date: 0, chat: { id: m.chatId, type: 'private', first_name: 'User' }, from: this.botInfo, text: message?.text ?? '' },
      },
    };
    void this.deliver(update);
    return update;
  }

  /**
   * Delivers the same update again, as Telegram does when the bot did not confirm it (a restart),
   * whatever offset the bot asks from; resolves once the bot has handled it.
   */
  async redeliver(update: any): Promise<void> {
    if (this.webhook) return this.deliver(update);
    this.again.push(update);
    for (const release of this.waiting.splice(0)) release();
    await this.until(() => (this.againServedAt.get(update) ?? Infinity) < this.polls, 10_000, `update ${update.update_id} handled again`);
  }

  /** Messages the bot has in a chat, in order. */
  chat(chatId: number | string): BotMessage[] {
    return this.messages.filter((m) => m.chat_id === String(chatId));
  }

  callsOf(method: string): Call[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves when `test` holds, checked after every call the bot makes. */
  /** Resolves once the bot has handled `update` (asked for the updates after it). */
  handled(update: { update_id: number }, timeoutMs = 10_000): Promise<void> {
    return this.until(() => this.confirmed > update.update_id, timeoutMs, `update ${update.update_id} handled`);
  }

  async until(test: () => boolean, timeoutMs = 20_000, what = 'condition'): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`)), timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.listeners = this.listeners.filter((l) => l !== check);
        resolve();
      };
      this.listeners.push(check);
    });
  }

  private async deliver(update: any): Promise<void> {
    if (this.webhook) {
      await fetch(this.webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.webhook.secret ? { 'x-telegram-bot-api-secret-token': this.webhook.secret } : {}) },
        body: JSON.stringify(update),
      }).catch(() => {});
      return;
    }
    this.updates.push(update);
    for (const release of this.waiting.splice(0)) release();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', this.url);
    const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(url.pathname);
    if (fileMatch) {
      const data = fileMatch[1] === this.token ? this.files.get(fileMatch[2]!) : undefined;
      res.writeHead(data ? 200 : 404);
      res.end(data ?? 'not found');
      return;
    }
    const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
    if (!m || m[1] !== this.token) return this.reply(res, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    const params = await parseParams(req.headers['content-type'] ?? '', body);
    this.calls.push({ method, params, at: Date.now() });
    queueMicrotask(() => this.listeners.forEach((l) => l()));
    const failureIndex = this.failures.findIndex((f) => f.method === method);
    if (failureIndex >= 0) {
      const f = this.failures.splice(failureIndex, 1)[0]!;
      return this.reply(res, f.status, { ok: false, error_code: f.status, description: f.description, ...(f.retryAfter ? { parameters: { retry_after: f.retryAfter } } : {}) });
    }
    const ok = (result: unknown) => this.reply(res, 200, { ok: true, result });
    switch (method) {
      case 'getMe':
        return ok(this.botInfo);
      case 'getUpdates':
        return ok(await this.getUpdates(Number(params.offset ?? 0), Number(params.timeout ?? 0), req));
      case 'deleteWebhook':
        this.webhook = undefined;
        return ok(true);
      case 'setWebhook':
        this.webhook = { url: params.url, secret: params.secret_token };
        return ok(true);
      case 'setMyCommands':
      case 'sendChatAction':
      case 'answerCallbackQuery':
        return ok(true);
      case 'sendMessage':
      case 'editMessageText': {
        if (params.parse_mode && this.rejectMarkup?.(params.text)) {
          return this.reply(res, 400, { ok: false, error_code: 400, description: "Bad Request: can't parse entities: Unsupported start tag \"x\" at byte offset 0" });
        }
        if (method === 'sendMessage') {
          const message: BotMessage = {
            message_id: ++this.messageId, chat_id: String(params.chat_id), text: params.text, parse_mode: params.parse_mode,
            thread_id: params.message_thread_id, reply_to: params.reply_parameters?.message_id, edits: 0, buttons: buttonsOf(params.reply_markup),
          };
          this.messages.push(message);
          return ok({ message_id: message.message_id, date: 0, chat: { id: Number(params.chat_id), type: 'private' }, text: params.text });
        }
        const target = this.messages.find((x) => x.chat_id === String(params.chat_id) && x.message_id === Number(params.message_id));
        if (!target) return this.reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message to edit not found' });
        const buttons = buttonsOf(params.reply_markup);
        if (target.text === params.text && target.parse_mode === params.parse_mode && JSON.stringify(target.buttons) === JSON.stringify(buttons)) {
          return this.reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: message is not modified' });
        }
        Object.assign(target, { text: params.text, parse_mode: params.parse_mode, edits: target.edits + 1, buttons });
        return ok({ message_id: target.message_id, date: 0, chat: { id: Number(params.chat_id), type: 'private' }, text: params.text });
      }
      case 'deleteMessage': {
        const i = this.messages.findIndex((x) => x.chat_id === String(params.chat_id) && x.message_id === Number(params.message_id));
        if (i >= 0) this.messages.splice(i, 1);
        return ok(true);
      }
      case 'getFile':
        return this.files.has(`files/${params.file_id}`) ? ok({ file_id: params.file_id, file_unique_id: 'u', file_path: `files/${params.file_id}` }) : this.reply(res, 400, { ok: false, error_code: 400, description: 'Bad Request: invalid file_id' });
      case 'sendDocument': {
        const message: BotMessage = { message_id: ++this.messageId, chat_id: String(params.chat_id), text: `[document ${params.document?.name ?? '?'} ${params.document?.size ?? 0} bytes]`, edits: 0 };
        this.messages.push(message);
        return ok({ message_id: message.message_id, date: 0, chat: { id: Number(params.chat_id), type: 'private' } });
      }
      default:
        return this.reply(res, 404, { ok: false, error_code: 404, description: `Not Found: method ${method}` });
    }
  }

  private async getUpdates(offset: number, timeoutS: number, req: http.IncomingMessage): Promise<any[]> {
    this.confirmed = Math.max(this.confirmed, offset);
    this.polls++;
    this.updates = this.updates.filter((u) => u.update_id >= offset);
    if (!this.updates.length && !this.again.length && timeoutS > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(timeoutS, 2) * 1000);
        const release = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiting.push(release);
        req.once('close', release);
      });
    }
    const again = this.again.splice(0);
    for (const update of again) this.againServedAt.set(update, this.polls);
    return [...again, ...this.updates.filter((u) => u.update_id >= offset)];
  }

  private reply(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

function buttonsOf(markup: unknown): { text: string; data: string }[][] | undefined {
  const parsed = typeof markup === 'string' ? JSON.parse(markup) : markup;
  const rows = (parsed as { inline_keyboard?: { text: string; callback_data: string }[][] } | undefined)?.inline_keyboard;
  return rows?.length ? rows.map((row) => row.map((b) => ({ text: b.text, data: b.callback_data }))) : undefined;
}

function autoEntities(text: string): any[] {
  const entities: any[] = [];
  const command = /^\/\w+(@\w+)?/.exec(text);
  if (command) entities.push({ type: 'bot_command', offset: 0, length: command[0].length });
  for (const m of text.matchAll(/@\w+/g)) if (m.index! > 0 || !command) entities.push({ type: 'mention', offset: m.index, length: m[0].length });
  return entities;
}

async function parseParams(contentType: string, body: Buffer): Promise<Record<string, any>> {
  if (!body.length) return {};
  if (contentType.includes('application/json')) return JSON.parse(body.toString('utf8'));
  if (contentType.includes('multipart/form-data')) {
    const out: Record<string, any> = {};
    for (const part of multipart(contentType, body)) {
      if (part.filename === undefined) {
        const v = part.data.toString('utf8');
        try {
          out[part.name] = JSON.parse(v);
        } catch {
          out[part.name] = v;
        }
      } else {
        out[part.name] = { name: part.filename, size: part.data.length };
      }
    }
    // grammY sends a file as "attach://<id>" plus a part of that name.
    for (const [k, v] of Object.entries(out)) if (typeof v === 'string' && v.startsWith('attach://')) out[k] = out[v.slice(9)];
    return out;
  }
  return Object.fromEntries(new URLSearchParams(body.toString('utf8')));
}

function multipart(contentType: string, body: Buffer): { name: string; filename?: string; data: Buffer }[] {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) return [];
  const parts: { name: string; filename?: string; data: Buffer }[] = [];
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const chunk = body.subarray(start + delimiter.length, next);
    const headerEnd = chunk.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = chunk.subarray(0, headerEnd).toString('utf8');
      let data = chunk.subarray(headerEnd + 4);
      if (data.subarray(-2).toString() === '\r\n') data = data.subarray(0, -2);
      const name = /;\s*name="([^"]*)"/.exec(headers)?.[1] ?? '';
      const filename = /filename="?([^";\r\n]*)"?/.exec(headers)?.[1];
      parts.push({ name, filename, data });
    }
    start = next;
  }
  return parts;
}
