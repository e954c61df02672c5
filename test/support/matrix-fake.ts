/**
 * A loopback stand-in for a Matrix homeserver's client-server API: enough for matrix-js-sdk's
 * `startClient` (versions, capabilities, push rules, filters, whoami) and a bot's life: the `/sync`
 * long poll (held until something happens or its timeout passes), sending and editing messages,
 * typing, redactions, joins, single events (`/rooms/{id}/event/{id}`), and media upload and
 * authenticated download. People are simulated with `say`, which puts an event in the next sync.
 * Anything else answers 404 M_UNRECOGNIZED, as a homeserver does for endpoints it lacks.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MatrixCall {
  method: string;
  path: string;
  body: any;
}

export interface RoomEvent {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  content: any;
  origin_server_ts: number;
}

export interface FakeRoom {
  id: string;
  /** Joined members; two make a DM. */
  members: string[];
}

const PREFIX = '/_matrix/client/';

export class MatrixFake {
  readonly botUserId = '@cligate:fake.local';
  readonly token = 'syt_fake_matrix_token';
  readonly calls: MatrixCall[] = [];
  /** Every room event, the people's and the bot's, in order. */
  readonly events: RoomEvent[] = [];
  readonly media = new Map<string, { data: Buffer; type: string }>();
  readonly rooms = new Map<string, FakeRoom>();
  url = '';
  private server?: http.Server;
  private seq = 0;
  /** Events not yet delivered to the bot's sync, with the batch they belong to. */
  private batch = 0;
  private readonly pending: RoomEvent[] = [];
  private readonly waiting = new Set<() => void>();
  private readonly newRooms = new Set<string>();
  /** Invitations not yet delivered to the bot's sync: room -> inviter. */
  private readonly invites = new Map<string, string>();

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res).catch((err) => this.send(res, 500, { errcode: 'M_UNKNOWN', error: String(err) })));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const wake of this.waiting) wake();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** A room the bot is in, with these people; the bot sees it in its next sync. */
  room(id: string, people: string[]): FakeRoom {
    const room = { id, members: [this.botUserId, ...people] };
    this.rooms.set(id, room);
    this.newRooms.add(id);
    this.wake();
    return room;
  }

  /** A person invites the bot to a room; the bot sees the invitation in its next sync. */
  invite(roomId: string, inviter: string): void {
    this.invites.set(roomId, inviter);
    this.wake();
  }

  /** A person sends an event; it reaches the bot through /sync. */
  say(roomId: string, sender: string, content: any, type = 'm.room.message'): RoomEvent {
    const event = this.record(roomId, sender, type, content);
    this.pending.push(event);
    this.wake();
    return event;
  }

  /** The bot's messages in a room, each as its latest edit says. */
  botMessages(roomId: string): (RoomEvent & { text: string; html?: string; edits: number; threadId?: string })[] {
    const mine = this.events.filter((e) => e.room_id === roomId && e.sender === this.botUserId && e.type === 'm.room.message');
    const originals = mine.filter((e) => e.content['m.relates_to']?.rel_type !== 'm.replace');
    const redacted = new Set(this.calls.filter((c) => c.path.includes('/redact/')).map((c) => decodeURIComponent(c.path.split('/redact/')[1]!.split('/')[0]!)));
    return originals.filter((e) => !redacted.has(e.event_id)).map((original) => {
      const edits = mine.filter((e) => e.content['m.relates_to']?.rel_type === 'm.replace' && e.content['m.relates_to'].event_id === original.event_id);
      const latest = edits.at(-1)?.content['m.new_content'] ?? original.content;
      const relation = original.content['m.relates_to'];
      return { ...original, text: latest.body, html: latest.formatted_body, edits: edits.length, threadId: relation?.rel_type === 'm.thread' ? relation.event_id : undefined };
    });
  }

  callsTo(method: string, path: RegExp): MatrixCall[] {
    return this.calls.filter((c) => c.method === method && path.test(c.path));
  }

  private record(roomId: string, sender: string, type: string, content: any): RoomEvent {
    const event = { event_id: `$ev${++this.seq}`, room_id: roomId, sender, type, content, origin_server_ts: Date.now() };
    this.events.push(event);
    return event;
  }

  private wake(): void {
    for (const wake of [...this.waiting]) wake();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url!, 'http://x');
    const path = decodeURIComponent(url.pathname);
    const raw = await readBody(req);
    const isJson = (req.headers['content-type'] ?? '').includes('json');
    const body = isJson && raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
    this.calls.push({ method: req.method!, path, body });

    if (path === '/_matrix/client/versions') return this.send(res, 200, { versions: ['v1.1', 'v1.5', 'v1.11', 'v1.12'], unstable_features: {} });
    if (path.startsWith('/_matrix/media/') || path.startsWith('/_matrix/client/v1/media/')) return this.mediaRequest(req, res, path, raw);
    if (!path.startsWith(PREFIX)) return this.unrecognized(res);
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, 401, { errcode: 'M_UNKNOWN_TOKEN', error: 'Unknown access token' });
    const route = path.slice(PREFIX.length).replace(/^(v3|r0|v1)\//, '');
    let m: RegExpMatchArray | null;

    if (route === 'account/whoami') return this.send(res, 200, { user_id: this.botUserId, device_id: 'FAKEDEVICE' });
    if (route === 'capabilities') return this.send(res, 200, { capabilities: {} });
    if (route.startsWith('pushrules')) return this.send(res, 200, { global: {} });
    if ((m = route.match(/^user\/[^/]+\/filter$/))) return this.send(res, 200, { filter_id: '1' });
    if ((m = route.match(/^user\/[^/]+\/filter\/(.+)$/))) return this.send(res, 200, {});
    if (route === 'sync') return this.sync(url, res);
    if ((m = route.match(/^rooms\/([^/]+)\/send\/([^/]+)\/([^/]+)$/))) {
      const event = this.record(m[1]!, this.botUserId, m[2]!, body);
      return this.send(res, 200, { event_id: event.event_id });
    }
    if ((m = route.match(/^rooms\/([^/]+)\/event\/([^/]+)$/))) {
      const event = this.events.find((e) => e.room_id === m![1] && e.event_id === m![2]);
      return event ? this.send(res, 200, event) : this.send(res, 404, { errcode: 'M_NOT_FOUND', error: 'Event not found' });
    }
    if ((m = route.match(/^rooms\/([^/]+)\/redact\/([^/]+)\/([^/]+)$/))) return this.send(res, 200, { event_id: `$redaction${++this.seq}` });
    if ((m = route.match(/^rooms\/([^/]+)\/typing\/([^/]+)$/))) return this.send(res, 200, {});
    if ((m = route.match(/^(?:rooms\/([^/]+)\/join|join\/([^/]+))$/))) return this.send(res, 200, { room_id: m[1] ?? m[2] });
    if ((m = route.match(/^rooms\/([^/]+)\/read_markers$/)) || (m = route.match(/^rooms\/([^/]+)\/receipt\//))) return this.send(res, 200, {});
    return this.unrecognized(res);
  }

  /** Held until there is something new for the bot, or the client's timeout passes. */
  private async sync(url: URL, res: http.ServerResponse): Promise<void> {
    const timeout = Math.min(Number(url.searchParams.get('timeout') ?? 0), 2000);
    if (!this.pending.length && !this.newRooms.size && !this.invites.size && timeout > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiting.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, timeout);
        this.waiting.add(wake);
        res.once('close', wake);
      });
    }
    const events = this.pending.splice(0);
    const join: Record<string, unknown> = {};
    const roomIds = new Set([...this.newRooms, ...events.map((e) => e.room_id)]);
    this.newRooms.clear();
    for (const roomId of roomIds) {
      const room = this.rooms.get(roomId);
      const members = room?.members ?? [this.botUserId];
      join[roomId] = {
        summary: { 'm.joined_member_count': members.length, 'm.invited_member_count': 0, 'm.heroes': members.filter((u) => u !== this.botUserId) },
        state: { events: members.map((user) => ({ type: 'm.room.member', state_key: user, sender: user, event_id: `$member-${roomId}-${user}`, origin_server_ts: 1, content: { membership: 'join', displayname: user.slice(1).split(':')[0] } })) },
        timeline: { events: events.filter((e) => e.room_id === roomId).map(({ room_id: _room, ...e }) => ({ ...e, unsigned: {} })), limited: false, prev_batch: `p${this.batch}` },
        ephemeral: { events: [] },
        account_data: { events: [] },
        unread_notifications: {},
      };
    }
    const invite: Record<string, unknown> = {};
    for (const [roomId, inviter] of this.invites) {
      invite[roomId] = { invite_state: { events: [
        { type: 'm.room.member', state_key: inviter, sender: inviter, content: { membership: 'join' } },
        { type: 'm.room.member', state_key: this.botUserId, sender: inviter, content: { membership: 'invite' } },
      ] } };
    }
    this.invites.clear();
    this.batch++;
    this.send(res, 200, { next_batch: `s${this.batch}`, rooms: { join, invite, leave: {} }, presence: { events: [] }, account_data: { events: [] }, to_device: { events: [] }, device_lists: {} });
  }

  private mediaRequest(req: http.IncomingMessage, res: http.ServerResponse, path: string, raw: Buffer): void {
    if (req.headers.authorization !== `Bearer ${this.token}`) return this.send(res, 401, { errcode: 'M_MISSING_TOKEN', error: 'Missing access token' });
    if (req.method === 'POST' && path.endsWith('/upload')) {
      const id = `media${++this.seq}`;
      this.media.set(id, { data: raw, type: String(req.headers['content-type'] ?? 'application/octet-stream') });
      return this.send(res, 200, { content_uri: `mxc://fake.local/${id}` });
    }
    const m = path.match(/\/download\/fake\.local\/([^/]+)/);
    const file = m && this.media.get(m[1]!);
    if (!file) return this.send(res, 404, { errcode: 'M_NOT_FOUND', error: 'Not found' });
    res.writeHead(200, { 'content-type': file.type, 'content-length': file.data.length });
    res.end(file.data);
  }

  private unrecognized(res: http.ServerResponse): void {
    this.send(res, 404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' });
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

async function readBody(req: http.IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
