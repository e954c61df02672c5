/**
 * Matrix, with matrix-js-sdk: the `/sync` long poll, no end-to-end encryption (the bot reads
 * unencrypted rooms only).
 *
 * DMs (rooms of two): every message is a prompt. Rooms: a message that mentions the bot starts a
 * thread from it (the thread is the conversation; later messages there need no mention). Answers
 * stream by editing (`m.replace`) and carry Markdown both as the plain body and as Matrix HTML.
 * Matrix has no buttons: approval requests come as text with numbered choices, and a reply with
 * the number answers (the core's fallback for adapters without `postCard`).
 */
import './node20.js';
import fs from 'node:fs';
import { ClientEvent, createClient, EventType, MatrixError, RoomEvent, RoomMemberEvent, SyncState, type MatrixClient, type MatrixEvent, type Room } from 'matrix-js-sdk';
import { DeliveryError, type ChatAdapter, type AdapterCaps, type AdapterHost, type ReplyTarget, type ReplyText } from '../../src/adapter.js';
import type { InboundFile } from '../../src/message.js';
import type { MatrixConfig } from './definition.js';
import { statusHtml, toMatrixHtml } from './markdown.js';
import { clientLogger, silenceGlobalSdkLogger } from './sdk-log.js';

type Content = Record<string, any>;

const FILE_TYPES = new Set(['m.file', 'm.image', 'm.audio', 'm.video']);
const TEXT_TYPES = new Set(['m.text', 'm.emote']);
/** Typing notices expire on the server after this; the core renews them before. */
const TYPING_MS = 30_000;

export class MatrixAdapter implements ChatAdapter {
  readonly platform = 'matrix' as const;
  // Events may be 64 KiB; a chat message that long is unreadable, so answers split earlier.
  readonly caps: AdapterCaps = { maxChars: 4000, editIntervalMs: 1000, typingIntervalMs: 20_000 };
  /** Each /sync loop would see every event. */
  readonly exclusiveConnection = true;
  readonly client: MatrixClient;
  private host?: AdapterHost;
  /** Events before the first sync are history, not messages to answer. */
  private live = false;
  /** Thread roots in rooms, and whether they were for the bot. */
  private readonly threadRoots = new Map<string, Promise<boolean>>();

  constructor(private readonly config: MatrixConfig) {
    silenceGlobalSdkLogger();
    this.client = createClient({
      baseUrl: config.homeserver_url, accessToken: config.access_token, userId: config.user_id,
      logger: clientLogger(() => this.host?.log),
    });
  }

  async start(host: AdapterHost): Promise<void> {
    this.host = host;
    const me = await this.client.whoami().catch((err: unknown) => {
      throw new Error(`matrix: ${this.config.homeserver_url} refused matrix.access_token (${describe(err)}): log in as the bot and copy a fresh token.`, { cause: err });
    });
    if (me.user_id !== this.config.user_id) throw new Error(`matrix: the access token belongs to ${me.user_id}, not matrix.user_id ${this.config.user_id}: set matrix.user_id to ${me.user_id}.`);
    this.client.on(RoomEvent.Timeline, (event, room, toStart) => {
      if (toStart || !this.live || !room) return;
      void this.onEvent(event, room).catch((err) => host.log.error({ err: describe(err) }, 'matrix: message failed'));
    });
    this.client.on(RoomMemberEvent.Membership, (event, member) => {
      if (member.userId === this.config.user_id && member.membership === 'invite') void this.onInvite(member.roomId, event.getSender());
    });
    const prepared = new Promise<void>((resolve) => {
      const onSync = (state: SyncState) => {
        if (state !== SyncState.Prepared && state !== SyncState.Syncing) return;
        this.client.off(ClientEvent.Sync, onSync);
        resolve();
      };
      this.client.on(ClientEvent.Sync, onSync);
    });
    await this.client.startClient({ initialSyncLimit: 0, threadSupport: false });
    await prepared;
    this.live = true;
    host.log.info({ user: this.config.user_id }, 'matrix: started');
  }

  async stop(): Promise<void> {
    this.live = false;
    this.client.stopClient();
  }

  /** Joins rooms an allowed person invites the bot to; strangers' invites are left alone. */
  private async onInvite(roomId: string, inviter: string | undefined): Promise<void> {
    if (!inviter || !this.config.allowed_users.includes(inviter)) return;
    await this.client.joinRoom(roomId).catch((err) => this.host?.log.warn({ err: describe(err), roomId }, 'matrix: joining a room failed'));
  }

  private async onEvent(event: MatrixEvent, room: Room): Promise<void> {
    const me = this.config.user_id;
    const content = event.getContent() as Content;
    if (event.getType() !== EventType.RoomMessage || event.getSender() === me || event.isRedacted()) return;
    const relation = content['m.relates_to'] as Content | undefined;
    if (relation?.rel_type === 'm.replace') return; // an edit of an earlier message, not a new one
    const isFile = FILE_TYPES.has(content.msgtype);
    const unsupported = content.msgtype === 'm.location' ? 'locations' : undefined;
    if (!isFile && !TEXT_TYPES.has(content.msgtype) && !unsupported) return; // notices are other bots talking
    const roomId = room.roomId;
    const isDm = room.getJoinedMemberCount() <= 2;
    const threadRoot = relation?.rel_type === 'm.thread' ? String(relation.event_id) : undefined;
    const mentioned = this.mentions(content);
    if (!isDm && !mentioned && !(threadRoot && (await this.isOurThread(roomId, threadRoot)))) return;

    const eventId = event.getId()!;
    const threadId = threadRoot ?? (!isDm && this.config.threads ? eventId : undefined);
    const inReplyTo = relation?.['m.in_reply_to']?.event_id as string | undefined;
    const result = await this.host!.receive({
      address: { platform: 'matrix', chatId: roomId, ...(threadId ? { threadId } : {}) },
      userId: event.getSender()!,
      userName: room.getMember(event.getSender()!)?.name,
      placeIds: isDm ? undefined : [roomId],
      messageId: eventId,
      // A thread's fallback reply points at the thread's last message, not at what the person answers.
      replyToRef: relation?.is_falling_back ? undefined : inReplyTo,
      // A voice message's body is a fallback ("Voice message"), not a caption.
      text: unsupported || 'org.matrix.msc3245.voice' in content ? '' : isFile ? captionOf(content) : this.withoutMention(String(content.body ?? ''), room),
      files: isFile && typeof content.url === 'string' ? [this.file(content)] : undefined,
      unsupported,
    });
    if (threadId === eventId) this.threadRoots.set(eventId, Promise.resolve(true));
    if (result.status === 'refused' && result.text) {
      await this.send(roomId, threadId, { msgtype: 'm.notice', body: result.text }).catch(() => {});
    }
  }

  private mentions(content: Content): boolean {
    const me = this.config.user_id;
    const listed = content['m.mentions']?.user_ids;
    if (Array.isArray(listed)) return listed.includes(me);
    return String(content.body ?? '').includes(me) || String(content.formatted_body ?? '').includes(`matrix.to/#/${me}`);
  }

  /** A thread in a room is the bot's when its first message mentioned the bot. */
  private isOurThread(roomId: string, rootId: string): Promise<boolean> {
    let known = this.threadRoots.get(rootId);
    if (!known) {
      known = this.client.fetchRoomEvent(roomId, rootId).then((root) => root.sender === this.config.user_id || this.mentions(root.content ?? {}), () => false);
      this.threadRoots.set(rootId, known);
    }
    return known;
  }

  /** The text without the mention of the bot: its id, or the display name a client's pill leaves in the body. */
  private withoutMention(body: string, room: Room): string {
    const me = this.config.user_id;
    const name = room.getMember(me)?.name ?? me.slice(1).split(':')[0]!;
    return body.split(me).join('').replace(new RegExp(`^\\s*${escapeRegExp(name)}:?\\s*`), '').trim();
  }

  private file(content: Content): InboundFile {
    const mxc = String(content.url);
    return {
      name: String(content.filename ?? content.body ?? 'file'),
      size: typeof content.info?.size === 'number' ? content.info.size : undefined,
      mime: typeof content.info?.mimetype === 'string' ? content.info.mimetype : undefined,
      // A voice message (MSC3245) is an m.audio with this marker; any m.audio is transcribed.
      ...(content.msgtype === 'm.audio' ? { kind: 'org.matrix.msc3245.voice' in content ? 'voice' as const : 'audio' as const } : {}),
      download: async () => {
        // Authenticated media (Matrix 1.11): the token goes in the header, never in the URL.
        const url = this.client.mxcUrlToHttp(mxc, undefined, undefined, undefined, false, true, true);
        if (!url) throw new Error(`not a media URL: ${mxc}`);
        const res = await fetch(url, { headers: { authorization: `Bearer ${this.config.access_token}` } });
        if (!res.ok) throw new Error(`download failed with HTTP ${res.status}`);
        return new Uint8Array(await res.arrayBuffer());
      },
    };
  }

  async post(target: ReplyTarget, reply: ReplyText): Promise<string> {
    return this.send(target.address.chatId, target.address.threadId, render(reply));
  }

  async edit(target: ReplyTarget, ref: string, reply: ReplyText): Promise<void> {
    const next = render(reply);
    // Clients without edits show the starred fallback; the others show m.new_content.
    await this.send(target.address.chatId, undefined, {
      msgtype: next.msgtype, body: `* ${next.body}`, format: next.format, formatted_body: `* ${next.formatted_body}`,
      'm.new_content': next, 'm.relates_to': { rel_type: 'm.replace', event_id: ref },
    });
  }

  async remove(target: ReplyTarget, ref: string): Promise<void> {
    await this.call(() => this.client.redactEvent(target.address.chatId, ref));
  }

  async typing(target: ReplyTarget): Promise<void> {
    await this.call(() => this.client.sendTyping(target.address.chatId, true, TYPING_MS));
  }

  async sendFile(target: ReplyTarget, file: { path: string; name: string }): Promise<void> {
    const data = fs.readFileSync(file.path);
    const upload = await this.call(() => this.client.uploadContent(data, { name: file.name, type: 'application/octet-stream' }));
    await this.send(target.address.chatId, target.address.threadId, {
      msgtype: 'm.file', body: file.name, filename: file.name, url: upload.content_uri, info: { size: data.byteLength },
    });
  }

  /** Sends a message, in a thread when there is one; returns its event id. */
  private async send(roomId: string, threadId: string | undefined, content: Content): Promise<string> {
    const relation = threadId ? { 'm.relates_to': { rel_type: 'm.thread', event_id: threadId, is_falling_back: true, 'm.in_reply_to': { event_id: threadId } } } : {};
    const sent = await this.call(() => this.client.sendEvent(roomId, EventType.RoomMessage, { ...content, ...relation } as never));
    return sent.event_id;
  }

  private async call<T>(send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toDeliveryError(err);
    }
  }
}

function render(reply: ReplyText): Content {
  const body = [reply.markdown, reply.status ? `⚙️ ${reply.status}` : ''].filter(Boolean).join('\n\n') || '…';
  const html = [reply.markdown ? toMatrixHtml(reply.markdown) : '', reply.status ? statusHtml(reply.status) : ''].filter(Boolean).join('<br><br>') || '…';
  return { msgtype: 'm.text', body, format: 'org.matrix.custom.html', formatted_body: html };
}

/** A file's message carries a caption when it names the file separately (Matrix 1.10). */
function captionOf(content: Content): string {
  return typeof content.filename === 'string' && content.filename !== content.body ? String(content.body ?? '') : '';
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function describe(err: unknown): string {
  if (err instanceof MatrixError) return `${err.httpStatus ?? ''} ${err.errcode ?? ''}: ${err.data?.error ?? err.message}`.trim();
  return err instanceof Error ? err.message : String(err);
}

function toDeliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof MatrixError) {
    const status = err.httpStatus ?? 0;
    const retryAfter = typeof err.data?.retry_after_ms === 'number' ? err.data.retry_after_ms : undefined;
    return new DeliveryError(`Matrix ${describe(err)}`, status === 429 || status >= 500 || status === 0, retryAfter);
  }
  return new DeliveryError(describe(err), true);
}
