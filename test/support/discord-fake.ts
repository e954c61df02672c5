/**
 * A loopback stand-in for Discord: REST (/api/v10/...) and the gateway (v10, JSON, no compression)
 * on one port. Enough protocol for discord.js: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats,
 * MESSAGE_CREATE (guild, thread, DM), THREAD_CREATE, INTERACTION_CREATE; messages, edits, typing,
 * threads, interaction callbacks and webhooks, DM channels, command registration, attachments.
 * As Discord does, an interaction's webhook answers 404 until the interaction was acknowledged; the
 * stand-in can hold callbacks unanswered, for an app that dies before its acknowledgement lands.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventually } from './harness.js';

let snowflake = 1_100_000_000_000_000_000n;
const nextId = () => String(snowflake++);

export interface RestCall {
  method: string;
  path: string;
  body: any;
  at: number;
}

export interface PostedMessage {
  id: string;
  channel_id: string;
  content: string;
  allowed_mentions?: { parse?: string[] };
  message_reference?: { message_id: string };
  edits: number;
  /** Whether Discord would have pinged @everyone for this content. */
  pingsEveryone: boolean;
  /** Rows of buttons, as the bot last sent them. */
  components?: any[];
}

export class DiscordFake {
  readonly botUser = { id: '900000000000000001', username: 'cligate', discriminator: '0', global_name: null, avatar: null, bot: true };
  readonly guildId = '800000000000000001';
  readonly channelId = '700000000000000001';
  /** A channel where creating threads is forbidden. */
  readonly noThreadsChannelId = '700000000000000002';
  readonly rest: RestCall[] = [];
  readonly messages: PostedMessage[] = [];
  readonly files = new Map<string, Buffer>();
  api = '';
  /** Interaction callbacks are left unanswered and do not acknowledge anything. */
  holdInteractionCallbacks = false;
  /** Called as each interaction callback (the acknowledgement) arrives. */
  onAck?: (path: string) => void;
  /** Gateway connections made so far. */
  connections = 0;
  /** Tokens of the interactions acknowledged with a callback. */
  private readonly acknowledged = new Set<string>();
  private server?: http.Server;
  private wss?: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  private seq = 0;
  private port = 0;
  private readonly threads = new Set<string>();

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.wss = new WebSocketServer({ server: this.server });
    this.wss.on('connection', (ws) => this.connect(ws));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    this.api = `http://127.0.0.1:${this.port}/api`;
    return this;
  }

  async stop(): Promise<void> {
    for (const ws of this.sockets) ws.close(1000);
    this.wss?.close();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Waits for the bot's `nth` gateway connection (a restarted bot makes a new one). */
  async connected(nth = 1): Promise<void> {
    // Generous: a spawned gateway starting on a machine loaded by the other test files (seen past 20 s in CI).
    await eventually(() => this.connections >= nth && this.sockets.size > 0, 45_000, 'the bot to connect', 5);
  }

  inChannel(channelId: string): PostedMessage[] {
    return this.messages.filter((m) => m.channel_id === channelId);
  }

  callsTo(method: string, pattern: RegExp): RestCall[] {
    return this.rest.filter((c) => c.method === method && pattern.test(c.path));
  }

  /**
   * A user clicks the button labelled `label` on one of the bot's messages: INTERACTION_CREATE with a
   * button component; the answer goes to the interaction callback. Returns the interaction's id and token.
   */
  click(message: PostedMessage, label: string, userId: string, username = 'alice'): { id: string; token: string } {
    const button = (message.components ?? []).flatMap((row) => row.components).find((c: any) => c.label === label);
    if (!button) throw new Error(`no button "${label}" on the message`);
    const id = nextId();
    const token = `itoken-${id}`;
    const user = { id: userId, username, discriminator: '0', global_name: null, avatar: null };
    const inGuild = message.channel_id === this.channelId || message.channel_id === this.noThreadsChannelId || this.threads.has(message.channel_id);
    const where = inGuild
      ? {
          guild_id: this.guildId, context: 0, authorizing_integration_owners: { 0: this.guildId },
          channel: { id: message.channel_id, type: this.threads.has(message.channel_id) ? 11 : 0, guild_id: this.guildId },
          member: { user, roles: [], permissions: '2199023255551', joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
        }
      : { context: 1, authorizing_integration_owners: { 1: userId }, channel: { id: message.channel_id, type: 1 }, user };
    this.dispatch('INTERACTION_CREATE', {
      id, application_id: this.botUser.id, type: 3, token, version: 1, locale: 'en-US', channel_id: message.channel_id,
      app_permissions: '2199023255551', entitlements: [], ...where,
      message: { ...this.wire(message), ...(inGuild ? {} : { guild_id: undefined }) },
      data: { custom_id: button.custom_id, component_type: 2 },
    });
    return { id, token };
  }

  /** A user writes in a guild channel (or thread) or, with `dm`, in a DM. */
  userMessage(content: string, options: { userId?: string; channelId?: string; dm?: boolean; mentionBot?: boolean; replyTo?: string; attachments?: { id: string; filename: string; size: number; content_type: string; duration_secs?: number }[];
    /** Message flags: 8192 (IS_VOICE_MESSAGE) for a voice message recorded in the app. */
    flags?: number; stickers?: boolean;
  } = {}): any {
    const author = { id: options.userId ?? '600000000000000001', username: 'alice', discriminator: '0', global_name: 'Alice', avatar: null };
    const d: any = {
      id: nextId(), channel_id: options.channelId ?? (options.dm ? `dm-${author.id}` : this.channelId), author, content,
      timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: false,
      mentions: options.mentionBot ? [this.botUser] : [], mention_roles: [], embeds: [], pinned: false, type: 0,
      attachments: (options.attachments ?? []).map((a) => ({ ...a, url: `${this.api}/attachments/${a.id}`, proxy_url: `${this.api}/attachments/${a.id}` })),
      ...(options.flags ? { flags: options.flags } : {}),
      ...(options.stickers ? { sticker_items: [{ id: '700000000000000001', name: 'wave', format_type: 1 }] } : {}),
    };
    if (options.replyTo) Object.assign(d, { type: 19, message_reference: { type: 0, message_id: options.replyTo, channel_id: d.channel_id } });
    // Discord says which kind of channel it is (discord.js needs it to make a DM channel it has not seen).
    if (options.dm) {
      d.channel_id = this.dmChannelOf(author.id);
      d.channel_type = 1;
    } else {
      d.channel_type = this.threads.has(d.channel_id) ? 11 : 0;
      d.guild_id = this.guildId;
      d.member = { roles: [], joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 };
    }
    this.dispatch('MESSAGE_CREATE', d);
    return d;
  }

  /** The id of the DM channel between the bot and this user. */
  dmChannelOf(userId: string): string {
    return '500000000000000' + userId.slice(-3);
  }

  /** A user runs a slash command. */
  slashCommand(name: string, args: string | undefined, options: { userId?: string; channelId?: string } = {}): { id: string; token: string } {
    const id = nextId();
    const token = `itoken-${id}`;
    const user = { id: options.userId ?? '600000000000000001', username: 'alice', discriminator: '0', global_name: 'Alice', avatar: null };
    this.dispatch('INTERACTION_CREATE', {
      id, application_id: this.botUser.id, type: 2, token, version: 1, locale: 'en-US', guild_locale: 'en-US',
      guild_id: this.guildId, channel_id: options.channelId ?? this.channelId,
      channel: { id: options.channelId ?? this.channelId, type: 0, guild_id: this.guildId, name: 'general' },
      member: { user, roles: [], permissions: '2199023255551', joined_at: new Date().toISOString(), deaf: false, mute: false, flags: 0 },
      app_permissions: '2199023255551', entitlements: [], authorizing_integration_owners: { 0: this.guildId }, context: 0,
      data: { id: nextId(), name, type: 1, ...(args !== undefined ? { options: [{ name: 'args', type: 3, value: args }] } : {}) },
    });
    return { id, token };
  }

  private connect(ws: WebSocket): void {
    this.sockets.add(ws);
    this.connections++;
    ws.on('close', () => this.sockets.delete(ws));
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41_250 }, s: null, t: null }));
    ws.on('message', (raw) => {
      const packet = JSON.parse(raw.toString());
      if (packet.op === 1) ws.send(JSON.stringify({ op: 11, d: null, s: null, t: null }));
      if (packet.op === 2) {
        this.dispatch('READY', {
          v: 10, user: this.botUser, guilds: [{ id: this.guildId, unavailable: true }], session_id: 'session-1',
          resume_gateway_url: `ws://127.0.0.1:${this.port}`, shard: [0, 1], application: { id: this.botUser.id, flags: 0 },
        }, ws);
        this.dispatch('GUILD_CREATE', this.guild(), ws);
      }
      if (packet.op === 6) this.dispatch('RESUMED', null, ws);
    });
  }

  private dispatch(t: string, d: unknown, only?: WebSocket): void {
    const payload = JSON.stringify({ op: 0, t, s: ++this.seq, d });
    for (const ws of only ? [only] : this.sockets) ws.send(payload);
  }

  private guild() {
    const channel = (id: string, name: string) => ({ id, type: 0, name, guild_id: this.guildId, position: 0, permission_overwrites: [], topic: null, nsfw: false, last_message_id: null, rate_limit_per_user: 0, parent_id: null });
    return {
      id: this.guildId, name: 'Test Guild', icon: null, owner_id: '1', afk_channel_id: null, afk_timeout: 300, verification_level: 0,
      default_message_notifications: 0, explicit_content_filter: 0, mfa_level: 0, system_channel_id: null, premium_tier: 0,
      preferred_locale: 'en-US', nsfw_level: 0, features: [], emojis: [], stickers: [],
      roles: [{ id: this.guildId, name: '@everyone', permissions: '2199023255551', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      joined_at: new Date().toISOString(), large: false, unavailable: false, member_count: 2, members: [], presences: [], voice_states: [],
      threads: [], stage_instances: [], guild_scheduled_events: [],
      channels: [channel(this.channelId, 'general'), channel(this.noThreadsChannelId, 'announcements')],
    };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks);
    const type = req.headers['content-type'] ?? '';
    let body: any = {};
    if (type.includes('json') && raw.length) body = JSON.parse(raw.toString('utf8'));
    else if (type.includes('multipart')) body = { multipart: true, payload: /name="payload_json"\r\n(?:[^\r\n]*\r\n)*\r\n([^\r\n]*)/.exec(raw.toString('utf8'))?.[1], size: raw.length, filenames: [...raw.toString('latin1').matchAll(/filename="([^"]+)"/g)].map((m) => m[1]), text: raw.toString('utf8') };
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname.replace(/^\/api(\/v\d+)?/, '');
    this.rest.push({ method: req.method ?? 'GET', path, body, at: Date.now() });
    const send = (status: number, obj?: unknown) => {
      if (obj === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(obj));
    };
    let m: RegExpExecArray | null;
    if (path.startsWith('/attachments/')) {
      const data = this.files.get(path.slice('/attachments/'.length));
      res.writeHead(data ? 200 : 404);
      res.end(data ?? '');
      return;
    }
    if (req.method === 'GET' && path === '/gateway/bot') {
      return send(200, { url: `ws://127.0.0.1:${this.port}`, shards: 1, session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 } });
    }
    if (req.method === 'GET' && path === '/users/@me') return send(200, this.botUser);
    if (req.method === 'PUT' && /^\/applications\/\d+(\/guilds\/\d+)?\/commands$/.test(path)) return send(200, body);
    if (req.method === 'POST' && /^\/channels\/[^/]+\/typing$/.test(path)) return send(204);
    if (req.method === 'POST' && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)\/threads$/.exec(path))) {
      if (m[1] === this.noThreadsChannelId) return send(403, { message: 'Missing Permissions', code: 50013 });
      const thread = {
        id: nextId(), type: 11, guild_id: this.guildId, parent_id: m[1], name: body.name, owner_id: this.botUser.id,
        thread_metadata: { archived: false, auto_archive_duration: 1440, archive_timestamp: new Date().toISOString(), locked: false },
        message_count: 0, member_count: 1, rate_limit_per_user: 0, flags: 0, last_message_id: null,
      };
      this.threads.add(thread.id);
      this.dispatch('THREAD_CREATE', { ...thread, newly_created: true });
      return send(201, thread);
    }
    if (req.method === 'POST' && (m = /^\/channels\/([^/]+)\/messages$/.exec(path))) {
      const payload = body.multipart ? JSON.parse(body.payload ?? '{}') : body;
      return send(200, this.store(m[1]!, payload));
    }
    if (req.method === 'PATCH' && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(path))) {
      const target = this.messages.find((x) => x.id === m![2]);
      if (!target) return send(404, { message: 'Unknown Message', code: 10008 });
      Object.assign(target, { content: body.content, allowed_mentions: body.allowed_mentions, edits: target.edits + 1, pingsEveryone: pings(body) });
      if (body.components !== undefined) target.components = body.components;
      return send(200, this.wire(target));
    }
    if (req.method === 'DELETE' && (m = /^\/channels\/([^/]+)\/messages\/([^/]+)$/.exec(path))) {
      const i = this.messages.findIndex((x) => x.id === m![2]);
      if (i >= 0) this.messages.splice(i, 1);
      return send(204);
    }
    if (req.method === 'POST' && (m = /^\/interactions\/[^/]+\/([^/]+)\/callback$/.exec(path))) {
      this.onAck?.(path);
      if (this.holdInteractionCallbacks) return;
      this.acknowledged.add(m[1]!);
      return send(204);
    }
    if (req.method === 'POST' && path === '/users/@me/channels') return send(200, { id: this.dmChannelOf(body.recipient_id), type: 1, recipients: [{ id: body.recipient_id }] });
    if ((m = /^\/webhooks\/[^/]+\/([^/]+)/.exec(path)) && !this.acknowledged.has(m[1]!)) return send(404, { message: 'Unknown Webhook', code: 10015 });
    if (req.method === 'PATCH' && (m = /^\/webhooks\/[^/]+\/([^/]+)\/messages\/(?:@|%40)original$/.exec(path))) {
      const id = `original-${m[1]}`;
      const existing = this.messages.find((x) => x.id === id);
      if (existing) Object.assign(existing, { content: body.content, edits: existing.edits + 1, allowed_mentions: body.allowed_mentions });
      else this.messages.push({ id, channel_id: `interaction:${m[1]}`, content: body.content, allowed_mentions: body.allowed_mentions, edits: 0, pingsEveryone: pings(body) });
      return send(200, { id, channel_id: this.channelId, content: body.content });
    }
    if (req.method === 'POST' && (m = /^\/webhooks\/[^/]+\/([^/]+)$/.exec(path))) {
      const payload = body.multipart ? JSON.parse(body.payload ?? '{}') : body;
      return send(200, this.store(`interaction:${m[1]}`, payload));
    }
    send(404, { message: `Unknown route (fake): ${req.method} ${path}`, code: 0 });
  }

  private store(channelId: string, body: any) {
    const message: PostedMessage = {
      id: nextId(), channel_id: channelId, content: body.content ?? '', allowed_mentions: body.allowed_mentions,
      message_reference: body.message_reference, edits: 0, pingsEveryone: pings(body), components: body.components,
    };
    this.messages.push(message);
    return this.wire(message);
  }

  private wire(message: PostedMessage) {
    return {
      id: message.id, channel_id: message.channel_id, guild_id: this.guildId, author: this.botUser, content: message.content,
      timestamp: new Date().toISOString(), edited_timestamp: null, tts: false, mention_everyone: message.pingsEveryone,
      mentions: [], mention_roles: [], attachments: [], embeds: [], pinned: false, type: 0, components: message.components ?? [],
    };
  }
}

/** Discord pings @everyone unless allowed_mentions leaves "everyone" out. */
function pings(body: any): boolean {
  const text = String(body.content ?? '');
  if (!/@(everyone|here)/.test(text)) return false;
  const parse = body.allowed_mentions?.parse;
  return !Array.isArray(parse) || parse.includes('everyone');
}
