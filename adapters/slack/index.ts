/**
 * Slack, with Bolt: Socket Mode by default (no public URL), or HTTP events on the gateway's server,
 * where Bolt checks the request signature and timestamp (a bad one gets 401 and never reaches us).
 *
 * A mention in a channel starts or continues the conversation of its thread, answered in the thread.
 * A DM is a conversation, and so is each thread inside it. The slash command (`/claude new`,
 * `/claude status`, or `/claude <question>`) is acknowledged as soon as it is stored and answered
 * after, ephemerally for commands. Events, in both modes, are acknowledged once stored too. While an
 * answer is queued or written, the asker's message carries a ⏳ reaction.
 */
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { DeliveryError, type ChatAdapter, type AdapterCaps, type AdapterHost, type ReplyTarget, type ReplyText } from '../../src/adapter.js';
import { COMMANDS } from '../../src/commands.js';
import type { SlackConfig } from './definition.js';
import type { InboundFile, InboundMessage } from '../../src/message.js';
import type { Card } from '../../src/adapter.js';
import { cardAsPlainText, cardMessage, withActions, type SlackBlock } from './buttons.js';
import { SlackClicks } from './clicks.js';
import { slackMessage, type SlackMessage } from './markdown.js';
import { StoreThenAckApp } from './store-then-ack.js';

const WORKING = 'hourglass_flowing_sand';

interface SlackFile {
  id: string;
  name?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  /** "slack_audio" for a clip recorded in Slack. */
  subtype?: string;
}

/** What a Slack answer needs: the message it threads under, or a slash command's response_url. */
type SlackReply = { ts?: string; responseUrl?: string; ephemeral?: boolean; user?: string };

export class SlackAdapter implements ChatAdapter<SlackReply> {
  readonly platform = 'slack' as const;
  // One section block holds 3,000 characters; mrkdwn escaping can grow the text a little.
  readonly caps: AdapterCaps = { maxChars: 2800, editIntervalMs: 1200, typingIntervalMs: 0, buttons: true };
  readonly app: App;
  private readonly receiver?: HTTPReceiver;
  private host?: AdapterHost<SlackReply>;
  private botUserId = '';
  private responses = 0;
  /** User messages carrying our ⏳ reaction: channel -> ts. */
  private readonly reacted = new Set<string>();
  private readonly clicks: SlackClicks;

  constructor(private readonly config: SlackConfig) {
    const clientOptions = { slackApiUrl: config.api_url, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } };
    if (config.mode === 'http') {
      // processBeforeResponse: Slack's 200 goes out once the event is stored, so a crash before that means a retry, not a loss.
      this.receiver = new HTTPReceiver({ signingSecret: config.signing_secret, endpoints: config.events_path, logLevel: LogLevel.ERROR, processBeforeResponse: true });
      this.app = new App({ token: config.bot_token, receiver: this.receiver, clientOptions, logLevel: LogLevel.ERROR, deferInitialization: true });
    } else {
      // Socket Mode has no processBeforeResponse: this App holds Bolt's early ack of events instead.
      this.app = new StoreThenAckApp({
        token: config.bot_token, appToken: config.app_token, socketMode: true, clientOptions,
        installerOptions: { clientOptions: { slackApiUrl: config.api_url } },
        logLevel: LogLevel.ERROR, deferInitialization: true,
      });
    }
    this.clicks = new SlackClicks(this.app, config.team_id);
  }

  async start(host: AdapterHost<SlackReply>): Promise<void> {
    this.host = host;
    this.clicks.listen(host);
    this.app.event('app_mention', async ({ event, body }) => {
      if (!this.ourTeam(body)) return;
      const e = event as unknown as SlackEventMessage;
      await this.accept({ ...e, text: this.stripMention(e.text ?? '') }, { threadId: e.thread_ts ?? e.ts, place: e.channel });
    });
    this.app.message(async ({ message, body }) => {
      const m = message as unknown as SlackEventMessage;
      if (m.channel_type !== 'im' || !this.ourTeam(body)) return;
      if (m.subtype && m.subtype !== 'file_share') return;
      await this.accept(m, { threadId: m.thread_ts, place: undefined });
    });
    this.app.command(this.config.command, async ({ command, ack }) => {
      if (this.config.team_id && command.team_id !== this.config.team_id) return ack();
      const [first = '', ...rest] = command.text.trim().split(/\s+/);
      // "/claude in the repo, why..." is a prompt; "/claude /in 2 hours ..." the command.
      const isCommand = !first || COMMANDS.some((c) => c.name === first.replace(/^\//, '').toLowerCase() && (!c.word || first.startsWith('/')));
      const text = !first ? '/help' : isCommand ? `/${first.replace(/^\//, '')} ${rest.join(' ')}`.trim() : command.text.trim();
      // Acknowledged the moment it is stored, before a command runs (Slack allows 3 s; /memory may wait
      // longer for its model). Slack never resends a slash command; a crash after the store leaves it
      // in the inbox, answered after restart (ephemerally through its response_url, valid 30 minutes).
      let acknowledged: Promise<void> | undefined;
      const acknowledge = () => {
        acknowledged = ack();
        acknowledged.catch(() => {}); // awaited below; this keeps an early failure from counting as unhandled
      };
      const result = await this.host!.receive({
        address: { platform: 'slack', chatId: command.channel_id },
        userId: command.user_id,
        placeIds: command.channel_id.startsWith('D') ? undefined : [command.channel_id],
        messageId: `command:${command.trigger_id}`,
        text,
        replyContext: { responseUrl: command.response_url, ephemeral: isCommand, user: command.user_id },
      }, { onStored: acknowledge });
      await (acknowledged ?? ack());
      if (result.status === 'refused' && result.text) await this.respond(command.response_url, result.text);
    });
    this.app.error(async (err) => {
      host.log.error({ err: err.message }, 'slack: listener failed');
      // Rethrown so that Bolt leaves an event it could not store unacknowledged, and Slack retries it.
      throw err;
    });

    await this.app.init();
    const auth = await this.app.client.auth.test();
    this.botUserId = String(auth.user_id ?? '');
    if (this.receiver) host.mount(this.config.events_path, this.receiver.requestListener);
    else await this.app.start();
    host.log.info({ mode: this.config.mode, bot: this.botUserId }, 'slack: started');
  }

  async stop(): Promise<void> {
    if (!this.receiver) await this.app.stop().catch(() => {});
  }

  private ourTeam(body: unknown): boolean {
    const team = (body as { team_id?: string }).team_id;
    return !this.config.team_id || team === this.config.team_id;
  }

  private stripMention(text: string): string {
    return text.replace(new RegExp(`<@${this.botUserId}(\\|[^>]*)?>`, 'g'), '').trim();
  }

  private async accept(m: SlackEventMessage, where: { threadId?: string; place?: string }): Promise<void> {
    if (m.bot_id || !m.user || m.user === this.botUserId) return;
    const inbound: InboundMessage<SlackReply> = {
      address: { platform: 'slack', chatId: m.channel, threadId: where.threadId },
      userId: m.user,
      placeIds: where.place ? [where.place] : undefined,
      // The same message's ts, however often Slack retries the event.
      messageId: `${m.channel}:${m.ts}`,
      text: unescapeSlack(m.text ?? ''),
      files: (m.files ?? []).map((f) => this.file(f)),
      replyContext: { ts: m.ts },
    };
    const result = await this.host!.receive(inbound);
    if (result.status === 'refused' && result.text) {
      // Not awaited: the event's acknowledgement waits for this listener, and a refusal needs no store.
      void this.app.client.chat.postEphemeral({ channel: m.channel, user: m.user, text: result.text, thread_ts: where.threadId }).catch(() => {});
    }
  }

  private file(f: SlackFile): InboundFile {
    return {
      name: f.name ?? f.id, size: f.size, mime: f.mimetype,
      ...(f.subtype === 'slack_audio' ? { kind: 'voice' as const } : f.mimetype?.startsWith('audio/') ? { kind: 'audio' as const } : {}),
      download: async () => {
        if (!f.url_private_download) throw new Error('Slack gave no download URL');
        const res = await fetch(f.url_private_download, { headers: { authorization: `Bearer ${this.config.bot_token}` } });
        if (!res.ok) throw new Error(`download failed with HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }

  async post(target: ReplyTarget<SlackReply>, reply: ReplyText): Promise<string> {
    const message = withActions(slackMessage(reply.markdown, reply.status), reply.actions && [reply.actions]);
    const responseUrl = target.context?.responseUrl;
    // A slash command's answer goes back through its response_url, seen only by whoever typed it.
    if (responseUrl && (reply.ephemeral || target.context?.ephemeral === true)) {
      await this.respond(responseUrl, message.text, message.blocks);
      return `ephemeral-${++this.responses}`;
    }
    const result = await this.call(() => this.app.client.chat.postMessage({
      channel: target.address.chatId, thread_ts: target.address.threadId, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false,
    }), message, (plain) => this.app.client.chat.postMessage({ channel: target.address.chatId, thread_ts: target.address.threadId, text: plain }));
    if (!reply.partial) await this.done(target);
    return String(result.ts);
  }

  async edit(target: ReplyTarget<SlackReply>, ref: string, reply: ReplyText): Promise<void> {
    const message = withActions(slackMessage(reply.markdown, reply.status), reply.actions && [reply.actions]);
    await this.call(
      () => this.app.client.chat.update({ channel: target.address.chatId, ts: ref, text: message.text, blocks: message.blocks }),
      message,
      (plain) => this.app.client.chat.update({ channel: target.address.chatId, ts: ref, text: plain, blocks: [] }),
    );
    if (!reply.partial) await this.done(target);
  }

  async postCard(target: ReplyTarget<SlackReply>, card: Card): Promise<string> {
    const { chatId: channel, threadId: thread_ts } = target.address;
    const message = cardMessage(card);
    const result = await this.call(
      () => this.app.client.chat.postMessage({ channel, thread_ts, text: message.text, blocks: message.blocks, unfurl_links: false, unfurl_media: false }),
      message,
      () => this.app.client.chat.postMessage({ channel, thread_ts, text: cardAsPlainText(card) }),
    );
    const ts = String(result.ts);
    this.clicks.remember(channel, ts, card);
    return ts;
  }

  async editCard(target: ReplyTarget<SlackReply>, ref: string, card: Card): Promise<void> {
    const channel = target.address.chatId;
    const message = cardMessage(card);
    await this.call(
      () => this.app.client.chat.update({ channel, ts: ref, text: message.text, blocks: message.blocks }),
      message,
      () => this.app.client.chat.update({ channel, ts: ref, text: cardAsPlainText(card), blocks: [] }),
    );
    this.clicks.remember(channel, ref, card);
  }

  async remove(target: ReplyTarget<SlackReply>, ref: string): Promise<void> {
    await this.call(() => this.app.client.chat.delete({ channel: target.address.chatId, ts: ref }));
  }

  /** Slack has no typing indicator for apps: a ⏳ reaction on the asker's message stands in. */
  async typing(target: ReplyTarget<SlackReply>): Promise<void> {
    const ts = target.context?.ts;
    const key = `${target.address.chatId}:${ts}`;
    if (!ts || this.reacted.has(key)) return;
    this.reacted.add(key);
    await this.app.client.reactions.add({ channel: target.address.chatId, timestamp: ts, name: WORKING }).catch(() => {});
  }

  async sendFile(target: ReplyTarget<SlackReply>, file: { path: string; name: string }): Promise<void> {
    const { chatId, threadId } = target.address;
    await this.call(() => (threadId
      ? this.app.client.filesUploadV2({ channel_id: chatId, thread_ts: threadId, file: file.path, filename: file.name })
      : this.app.client.filesUploadV2({ channel_id: chatId, file: file.path, filename: file.name })) as Promise<unknown>);
  }

  private async done(target: ReplyTarget<SlackReply>): Promise<void> {
    const ts = target.context?.ts;
    const key = `${target.address.chatId}:${ts}`;
    if (!ts || !this.reacted.delete(key)) return;
    await this.app.client.reactions.remove({ channel: target.address.chatId, timestamp: ts, name: WORKING }).catch(() => {});
  }

  private async respond(responseUrl: string, text: string, blocks?: SlackBlock[]): Promise<void> {
    const res = await fetch(responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'ephemeral', text, ...(blocks ? { blocks } : {}) }),
    }).catch((err: Error) => {
      throw new DeliveryError(`Slack response_url unreachable: ${err.message}`, true);
    });
    if (res.status >= 500 || res.status === 429) throw new DeliveryError(`Slack response_url answered ${res.status}`, true);
    if (!res.ok) throw new DeliveryError(`Slack response_url answered ${res.status} (expired?)`, false);
  }

  /**
   * Runs a Web API call with Slack's errors turned into delivery errors: rate limits wait for
   * Retry-After, server and network errors are retried, the rest is final. Blocks Slack refuses go
   * out again as plain text.
   */
  private async call<T>(send: () => Promise<T>, message?: Pick<SlackMessage, 'text'>, plain?: (text: string) => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number; message?: string };
      if (plain && message && e.code === 'slack_webapi_platform_error' && /invalid_blocks|msg_too_long|invalid_arguments/.test(e.data?.error ?? '')) {
        this.host?.log.warn({ error: e.data?.error }, 'slack: blocks refused; sending plain text');
        return this.call(() => plain(message.text));
      }
      throw toDeliveryError(e);
    }
  }
}

interface SlackEventMessage {
  type: string;
  subtype?: string;
  channel: string;
  channel_type?: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  files?: SlackFile[];
}

function toDeliveryError(e: { code?: string; retryAfter?: number; data?: { error?: string }; statusCode?: number; message?: string }): DeliveryError {
  switch (e.code) {
    case 'slack_webapi_rate_limited_error':
      return new DeliveryError('Slack rate limit', true, (e.retryAfter ?? 1) * 1000);
    case 'slack_webapi_request_error':
      return new DeliveryError(`Slack unreachable: ${e.message}`, true);
    case 'slack_webapi_http_error':
      return new DeliveryError(`Slack HTTP ${e.statusCode}`, (e.statusCode ?? 500) >= 500);
    case 'slack_webapi_platform_error': {
      const error = e.data?.error ?? 'unknown';
      return new DeliveryError(`Slack: ${error}`, /internal_error|fatal_error|service_unavailable|request_timeout|ratelimited/.test(error));
    }
    default:
      return new DeliveryError(e.message ?? String(e), true);
  }
}

/** Slack escapes &, < and > in message text; links arrive as <url|text>. */
function unescapeSlack(text: string): string {
  return text
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}
