/**
 * A loopback stand-in for Slack: the Web API methods the adapter uses (with 429s on demand), a
 * Socket Mode WebSocket that pushes envelopes and collects their acks (or loses them, to stand for
 * an app that died before its ack went out), response_url endpoints, and private file downloads that
 * need the bot token. Plus `signed()` to post HTTP events as Slack does.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventually } from './harness.js';

export interface SlackCall {
  method: string;
  body: Record<string, any>;
  auth?: string;
  at: number;
}

export interface SlackPosted {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: any[];
  edits: number;
}

export class SlackFake {
  readonly calls: SlackCall[] = [];
  readonly posted: SlackPosted[] = [];
  readonly responses: { id: string; body: any; at: number }[] = [];
  readonly files = new Map<string, Buffer>();
  readonly botToken = 'xoxb-test-token-0000000000';
  url = '';
  /** Acks that arrive are thrown away, as if the app had died before sending them. */
  dropAcks = false;
  /** Called as each ack arrives, before it is taken (or dropped). */
  onAck?: (ack: any) => void;
  /** Socket Mode connections made so far. */
  connections = 0;
  private server?: http.Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly sockets = new Set<WebSocket>();
  private readonly acks = new Map<string, (msg: any) => void>();
  private tsCounter = 1000;
  private rateLimits: { method: string; retryAfter: number }[] = [];

  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.on('upgrade', (req, socket, head) => this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sockets.add(ws);
      this.connections++;
      ws.on('message', (m) => {
        const msg = JSON.parse(m.toString());
        this.onAck?.(msg);
        if (!this.dropAcks) this.acks.get(msg.envelope_id)?.(msg);
      });
      ws.on('close', () => this.sockets.delete(ws));
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A1' }, debug_info: { host: 'fake' } }));
    }));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    // Let clients finish their close handshake first (else Bolt keeps a reconnect timer alive).
    for (let i = 0; i < 100 && this.sockets.size; i++) await new Promise((r) => setTimeout(r, 10));
    for (const ws of this.sockets) ws.terminate();
    this.wss.close();
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The next call of `method` is refused with 429 and Retry-After. */
  rateLimitNext(method: string, retryAfter: number): void {
    this.rateLimits.push({ method, retryAfter });
  }

  /** Waits for the bot's `nth` Socket Mode connection (a restarted app makes a new one). */
  async connected(nth = 1): Promise<void> {
    // Generous: a spawned gateway starting on a machine loaded by the other test files (seen past 20 s in CI).
    await eventually(() => this.connections >= nth && this.sockets.size > 0, 45_000, 'the bot to connect', 5);
  }

  /** Pushes a Socket Mode envelope; resolves with the app's ack and how long it took (never, while acks are dropped). */
  sendEnvelope(type: 'events_api' | 'slash_commands', payload: unknown, retryAttempt = 0): Promise<{ ack: any; ms: number }> {
    const envelope_id = `env-${crypto.randomBytes(4).toString('hex')}`;
    const started = Date.now();
    return new Promise((resolve) => {
      this.acks.set(envelope_id, (ack) => resolve({ ack, ms: Date.now() - started }));
      for (const ws of this.sockets) {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ envelope_id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: retryAttempt, retry_reason: retryAttempt ? 'timeout' : '' }));
      }
    });
  }

  /** A response_url for a slash command. */
  responseUrl(): string {
    return `${this.url}/response/${crypto.randomBytes(4).toString('hex')}`;
  }

  /** `user` clicks the button labelled `label` on `message`: an "interactive" envelope; resolves with the app's ack. */
  click(message: SlackPosted, label: string, user: string): Promise<{ ack: any }> {
    const envelope_id = `env-${crypto.randomBytes(4).toString('hex')}`;
    const payload = blockActions(message, label, user);
    return new Promise((resolve) => {
      this.acks.set(envelope_id, (ack) => resolve({ ack }));
      for (const ws of this.sockets) ws.send(JSON.stringify({ envelope_id, type: 'interactive', payload, accepts_response_payload: true, retry_attempt: 0, retry_reason: '' }));
    });
  }

  inChannel(channel: string): SlackPosted[] {
    return this.posted.filter((p) => p.channel === channel);
  }

  callsOf(method: string): SlackCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let raw = '';
    for await (const c of req) raw += c;
    const url = new URL(req.url ?? '/', this.url);
    if (url.pathname.startsWith('/response/')) {
      this.responses.push({ id: url.pathname.split('/')[2]!, body: JSON.parse(raw || '{}'), at: Date.now() });
      res.writeHead(200).end('ok');
      return;
    }
    if (url.pathname.startsWith('/files/')) {
      const data = this.files.get(url.pathname.slice(7));
      const ok = req.headers.authorization === `Bearer ${this.botToken}` && data;
      res.writeHead(ok ? 200 : 403).end(ok ? data : 'forbidden');
      return;
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const type = req.headers['content-type'] ?? '';
    const body: Record<string, any> = type.includes('json') ? JSON.parse(raw || '{}') : Object.fromEntries(new URLSearchParams(raw));
    for (const key of ['blocks', 'attachments']) if (typeof body[key] === 'string') body[key] = JSON.parse(body[key]);
    this.calls.push({ method, body, auth: req.headers.authorization, at: Date.now() });
    const limited = this.rateLimits.findIndex((r) => r.method === method);
    if (limited >= 0) {
      const { retryAfter } = this.rateLimits.splice(limited, 1)[0]!;
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) }).end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    const reply = (data: Record<string, unknown>) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    const ts = `${Math.floor(Date.now() / 1000)}.${String(this.tsCounter++).padStart(6, '0')}`;
    switch (method) {
      case 'auth.test':
        return reply({ ok: true, url: 'https://fake.slack/', team: 'Team', user: 'cligate', team_id: 'T1', user_id: 'UBOT', bot_id: 'BBOT' });
      case 'apps.connections.open':
        return reply({ ok: true, url: `${this.url.replace('http', 'ws')}/socket` });
      case 'chat.postMessage':
        this.posted.push({ channel: body.channel, ts, thread_ts: body.thread_ts || undefined, text: body.text, blocks: body.blocks, edits: 0 });
        return reply({ ok: true, channel: body.channel, ts, message: { text: body.text, ts } });
      case 'chat.update': {
        const target = this.posted.find((p) => p.channel === body.channel && p.ts === body.ts);
        if (!target) return reply({ ok: false, error: 'message_not_found' });
        Object.assign(target, { text: body.text, blocks: body.blocks, edits: target.edits + 1 });
        return reply({ ok: true, channel: body.channel, ts: body.ts, text: body.text });
      }
      case 'chat.delete': {
        const i = this.posted.findIndex((p) => p.channel === body.channel && p.ts === body.ts);
        if (i >= 0) this.posted.splice(i, 1);
        return reply({ ok: true });
      }
      case 'chat.postEphemeral':
        return reply({ ok: true, message_ts: ts });
      default:
        return reply({ ok: true });
    }
  }
}

/** Headers Slack sends with an HTTP event: the v0 HMAC of the timestamp and body. */
export function slackSignature(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = 'v0=' + crypto.createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

/** An Events API callback carrying `event`. */
export function eventCallback(event: Record<string, unknown>, eventId = `Ev${crypto.randomBytes(4).toString('hex')}`): Record<string, unknown> {
  return {
    type: 'event_callback', token: 'legacy', team_id: 'T1', api_app_id: 'A1', event_id: eventId, event_time: Math.floor(Date.now() / 1000),
    authorizations: [{ team_id: 'T1', user_id: 'UBOT', is_bot: true, is_enterprise_install: false }],
    event: { event_ts: event.ts, ...event },
  };
}

/**
 * What Slack sends when `user` clicks the button labelled `label` on `message`: a block_actions
 * payload (an "interactive" envelope in Socket Mode).
 */
export function blockActions(message: SlackPosted, label: string, user: string): Record<string, unknown> {
  const buttons = (message.blocks ?? []).filter((b) => b.type === 'actions').flatMap((b) => b.elements as any[]);
  const button = buttons.find((e) => e.text?.text === label);
  if (!button) throw new Error(`no button "${label}" on the message (it has: ${buttons.map((e) => e.text?.text).join(', ') || 'none'})`);
  const id = crypto.randomBytes(4).toString('hex');
  return {
    type: 'block_actions', token: 'legacy', api_app_id: 'A1', trigger_id: `trigger-${id}`, response_url: `http://127.0.0.1/response/${id}`,
    user: { id: user, username: `user-${user.toLowerCase()}`, name: `user-${user.toLowerCase()}`, team_id: 'T1' },
    team: { id: 'T1', domain: 'test' },
    channel: { id: message.channel, name: 'general' },
    container: { type: 'message', message_ts: message.ts, channel_id: message.channel, is_ephemeral: false, ...(message.thread_ts ? { thread_ts: message.thread_ts } : {}) },
    message: { type: 'message', user: 'UBOT', bot_id: 'BBOT', ts: message.ts, thread_ts: message.thread_ts, text: message.text, blocks: message.blocks },
    actions: [{ type: 'button', block_id: 'b1', action_id: button.action_id, value: button.value, style: button.style, text: button.text, action_ts: String(Date.now() / 1000) }],
  };
}
