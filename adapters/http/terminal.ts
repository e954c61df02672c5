/**
 * Terminal tabs through the API (the web app's Terminal panel); the tabs themselves are src/terminal.
 *
 *   GET    /v1/conversations/{id}/terminals                  {data: tabs, kinds: what this key may open}
 *   POST   /v1/conversations/{id}/terminals                  {kind: "shell"|"claude"|"codex", cols?, rows?} -> 201 the tab
 *   DELETE /v1/conversations/{id}/terminals/{tab}            closes it (its processes are killed)
 *   POST   /v1/conversations/{id}/terminals/{tab}/ticket     -> {ticket, url}: one WebSocket, within 30 s
 *   DELETE /v1/conversations/{id}/terminals/{tab}/participants/{viewer}   removes someone (closes their socket)
 *   GET    /v1/terminals/{tab}/socket?ticket=...             the WebSocket: output out; input and resize in
 *   POST   /v1/conversations/{id}/shares                     {tab?, mode: "view"|"write", expires_in_s?} -> 201 {id, token, link}
 *   GET    /v1/conversations/{id}/shares, DELETE .../shares/{share}   the live links; revoking closes their sockets at once
 *   GET    /share/terminals, POST /share/terminals/{tab}/ticket {name}   for a link's holder (X-Share-Token header), no API key
 *
 * Browsers cannot put an API key on a WebSocket request, and a key in its URL would land in logs: the
 * page asks for a ticket with its key (single use, 30 s, bound to the tab) and opens the socket with it.
 * The upgrade checks the Origin (same host, or http.cors_origins) and the ticket before anything is
 * attached: 403 and 401 otherwise. On the socket, binary frames carry output; text frames carry JSON
 * (in: {type: "input", data} or {type: "resize", cols, rows}; out: participants, exit).
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Hono } from 'hono';
import { WebSocketServer, type WebSocket } from 'ws';
import type { GatewayApi } from '../../src/adapter.js';
import { TAB_KINDS, type Tab, type TabKind, type Terminals, type Viewer } from '../../src/terminal/index.js';
import type { HttpEnv } from './context.js';
import { apiError, readJson } from './index.js';

export const TERMINAL_SOCKETS = '/v1/terminals';
const TICKET_MS = 30_000;
/** A viewer this far behind (bytes queued on its socket) is dropped rather than slowing the others. */
const MAX_BUFFERED = 8 * 1024 * 1024;

interface Ticket {
  tabId: string;
  shareId?: number;
  name: string;
  mode: 'view' | 'write';
  expires: number;
}

/** Single-use tickets for terminal sockets, kept for 30 s. */
export class Tickets {
  private readonly tickets = new Map<string, Ticket>();

  issue(ticket: Omit<Ticket, 'expires'>): string {
    const now = Date.now();
    for (const [k, t] of this.tickets) if (t.expires < now) this.tickets.delete(k);
    const value = crypto.randomBytes(24).toString('base64url');
    this.tickets.set(value, { ...ticket, expires: now + TICKET_MS });
    return value;
  }

  redeem(value: string | null, tabId: string): Ticket | undefined {
    if (!value) return undefined;
    const ticket = this.tickets.get(value);
    this.tickets.delete(value);
    return ticket && ticket.tabId === tabId && ticket.expires >= Date.now() ? ticket : undefined;
  }
}

type Env = HttpEnv;

export function terminalRoutes(app: Hono<Env>, api: () => GatewayApi, fullId: (user: string, id: string) => string | undefined, tickets: Tickets): void {
  /** The conversation and its terminals, or the 404 another's conversation gets (503: no terminals in this process). */
  const scope = (c: Context<Env>): { conversationId: string; terminals: Terminals } | Response => {
    const conversationId = fullId(c.get('user'), c.req.param('id')!);
    if (!conversationId || !(conversationId.startsWith(`http:${c.get('user')}:`) || api().canRead(c.get('reader'), conversationId))) {
      return c.json(apiError(`No conversation ${c.req.param('id')}.`, 'not_found'), 404);
    }
    const terminals = api().terminals;
    if (!terminals) return c.json(apiError('This process serves no terminals.', 'unavailable'), 503);
    return { conversationId, terminals };
  };
  const tabOf = (c: Context<Env>, s: { conversationId: string; terminals: Terminals }): Tab | Response => {
    const tab = s.terminals.get(c.req.param('tab')!);
    return tab && tab.conversationId === s.conversationId ? tab : c.json(apiError(`No terminal ${c.req.param('tab')} here.`, 'not_found'), 404);
  };
  const opener = (c: Context<Env>) => ({ user: c.get('user'), admin: c.get('reader').admin });

  app.get('/v1/conversations/:id/terminals', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const kinds = TAB_KINDS.filter((k) => !s.terminals.refusal(k, opener(c)));
    return c.json({ data: s.terminals.list(s.conversationId), kinds });
  });
  app.post('/v1/conversations/:id/terminals', async (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const body = await readJson(c);
    if ('error' in body) return c.json(apiError(body.error, body.code), body.status);
    const { kind, cols = 80, rows = 24 } = (body.value ?? {}) as { kind?: unknown; cols?: unknown; rows?: unknown };
    if (!TAB_KINDS.includes(kind as TabKind)) return c.json(apiError(`Send {"kind": ${TAB_KINDS.map((k) => `"${k}"`).join(' | ')}}.`, 'invalid_request'), 400);
    const size = { cols: clamp(cols, 2, 1000, 80), rows: clamp(rows, 1, 500, 24) };
    const opened = await s.terminals.open(kind as TabKind, s.conversationId, opener(c), size);
    if ('error' in opened) return c.json(apiError(opened.error, opened.status === 403 ? 'forbidden' : opened.status === 429 ? 'too_many_terminals' : 'conflict'), opened.status);
    return c.json(opened.tab.info(), 201);
  });
  app.delete('/v1/conversations/:id/terminals/:tab', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const tab = tabOf(c, s);
    if (tab instanceof Response) return tab;
    s.terminals.close(tab, `closed by ${c.get('user')}`);
    return c.body(null, 204);
  });
  app.post('/v1/conversations/:id/terminals/:tab/ticket', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const tab = tabOf(c, s);
    if (tab instanceof Response) return tab;
    // A shell tab others may not open themselves, they may not type into either.
    const mode = s.terminals.refusal(tab.kind, opener(c)) ? 'view' : 'write';
    const ticket = tickets.issue({ tabId: tab.id, name: c.get('user'), mode });
    return c.json({ ticket, mode, url: `${TERMINAL_SOCKETS}/${tab.id}/socket?ticket=${ticket}`, expires_in_s: TICKET_MS / 1000 });
  });
  app.post('/v1/conversations/:id/shares', async (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const body = await readJson(c);
    if ('error' in body) return c.json(apiError(body.error, body.code), body.status);
    const { tab: tabId, mode = 'view', expires_in_s: expires = 3600 } = (body.value ?? {}) as { tab?: unknown; mode?: unknown; expires_in_s?: unknown };
    if ((mode !== 'view' && mode !== 'write') || typeof expires !== 'number' || (tabId !== undefined && typeof tabId !== 'string')) {
      return c.json(apiError('Send {"mode": "view" | "write", "expires_in_s": seconds, "tab": optional tab id}.', 'invalid_request'), 400);
    }
    if (tabId && s.terminals.get(tabId)?.conversationId !== s.conversationId) return c.json(apiError(`No terminal ${tabId} here.`, 'not_found'), 404);
    const { token, share } = s.terminals.shares.create({ conversationId: s.conversationId, tabId, mode, createdBy: c.get('user'), creatorAdmin: c.get('reader').admin, expiresInS: expires });
    return c.json({ ...share, token, link: `/#share=${token}` }, 201);
  });
  app.get('/v1/conversations/:id/shares', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    return c.json({ data: s.terminals.shares.list(s.conversationId) });
  });
  app.delete('/v1/conversations/:id/shares/:share', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const share = s.terminals.shares.get(Number(c.req.param('share')));
    if (!share || share.conversation_id !== s.conversationId) return c.json(apiError('No such share.', 'not_found'), 404);
    if (share.created_by !== c.get('user') && !c.get('reader').admin) return c.json(apiError('Only its creator (or an admin) revokes a share.', 'forbidden'), 403);
    s.terminals.shares.revoke(share.id);
    s.terminals.closeShare(share.id);
    return c.body(null, 204);
  });
  // A link's holder has no API key: the token is the credential, and says which tabs it reaches.
  const shareOf = (c: Context<Env>) => {
    const terminals = api().terminals;
    const token = c.req.header('x-share-token');
    const share = token && terminals?.shares.find(token);
    return share && terminals ? { share, terminals } : undefined;
  };
  app.get('/share/terminals', (c) => {
    const found = shareOf(c);
    if (!found) return c.json(apiError('This share link is unknown, expired or revoked.', 'invalid_share'), 401);
    return c.json({ conversation_id: found.share.conversation_id, mode: found.share.mode, expires_at: found.share.expires_at, data: found.terminals.sharedTabs(found.share) });
  });
  app.post('/share/terminals/:tab/ticket', async (c) => {
    const found = shareOf(c);
    if (!found) return c.json(apiError('This share link is unknown, expired or revoked.', 'invalid_share'), 401);
    const tab = found.terminals.get(c.req.param('tab'));
    const mode = tab && found.terminals.shareMode(found.share, tab);
    if (!tab || !mode) return c.json(apiError('No such terminal for this link.', 'not_found'), 404);
    const body = await readJson(c);
    const raw = 'error' in body ? '' : String((body.value as { name?: unknown })?.name ?? '');
    const name = `${raw.replace(/[^\p{L}\p{N} ._-]/gu, '').trim().slice(0, 32) || 'guest'} (link)`;
    const ticket = tickets.issue({ tabId: tab.id, name, mode, shareId: found.share.id });
    return c.json({ ticket, mode, url: `${TERMINAL_SOCKETS}/${tab.id}/socket?ticket=${ticket}`, expires_in_s: TICKET_MS / 1000 });
  });
  app.delete('/v1/conversations/:id/terminals/:tab/participants/:viewer', (c) => {
    const s = scope(c);
    if (s instanceof Response) return s;
    const tab = tabOf(c, s);
    if (tab instanceof Response) return tab;
    if (tab.owner !== c.get('user') && !c.get('reader').admin) return c.json(apiError('Only the tab\'s owner removes participants.', 'forbidden'), 403);
    return s.terminals.remove(tab, c.req.param('viewer')) ? c.body(null, 204) : c.json(apiError('No such participant.', 'not_found'), 404);
  });
}

/** The upgrade handler of terminal sockets: Origin, then ticket, then the tab; only then a WebSocket. */
export function terminalSocket(api: () => GatewayApi, tickets: Tickets, corsOrigins: readonly string[]): (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  return (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/v1\/terminals\/([A-Za-z0-9_-]+)\/socket$/.exec(url.pathname);
    if (!match) return refuse(socket, 404, 'Not Found');
    const origin = req.headers.origin;
    if (origin && !sameHost(origin, req.headers.host) && !corsOrigins.includes(origin)) return refuse(socket, 403, 'Forbidden');
    const ticket = tickets.redeem(url.searchParams.get('ticket'), match[1]!);
    if (!ticket) return refuse(socket, 401, 'Unauthorized');
    const terminals = api().terminals;
    const tab = terminals?.get(match[1]!);
    if (!terminals || !tab) return refuse(socket, 404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => attach(terminals, tab, ws, ticket));
  };
}

function attach(terminals: Terminals, tab: Tab, ws: WebSocket, ticket: Ticket): void {
  const viewer: Viewer = {
    id: crypto.randomBytes(6).toString('base64url'),
    name: ticket.name,
    mode: ticket.mode,
    shareId: ticket.shareId,
    output: (data) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > MAX_BUFFERED) return ws.close(1013, 'too far behind; reconnect');
      ws.send(Buffer.from(data, 'utf8'), { binary: true });
    },
    control: (message) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    },
    close: (code, reason) => ws.close(code, reason),
  };
  ws.send(JSON.stringify({ type: 'hello', you: { id: viewer.id, name: viewer.name, mode: viewer.mode }, tab: tab.info() }));
  terminals.attach(tab, viewer);
  ws.on('message', (raw, binary) => {
    if (binary) return;
    let message: { type?: string; data?: unknown; cols?: unknown; rows?: unknown };
    try {
      message = JSON.parse(raw.toString());
    } catch {
      return;
    }
    if (message.type === 'input' && typeof message.data === 'string') terminals.input(tab, viewer, message.data);
    else if (message.type === 'resize' && viewer.mode === 'write') terminals.resize(tab, Number(message.cols), Number(message.rows));
  });
  // Proxies drop a WebSocket that stays silent for a minute or so: a ping keeps an idle tab's socket up.
  const ping = setInterval(() => ws.ping(), 25_000);
  ws.on('close', () => {
    clearInterval(ping);
    terminals.detach(tab, viewer.id);
  });
  ws.on('error', () => ws.terminate());
}

function sameHost(origin: string, host: string | undefined): boolean {
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
}

function clamp(value: unknown, min: number, max: number, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) ? Math.min(max, Math.max(min, n)) : fallback;
}
