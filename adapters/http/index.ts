/**
 * The HTTP adapter: Claude Code as an API server, and a web chat.
 *
 *   POST   /v1/conversations/{id}/messages   {text} -> SSE of the job (queued, text, tool, status, done); ?stream=false -> JSON
 *                                             or an audio body (Content-Type audio/*, ?caption=...): a voice note, heard first (SSE `heard`)
 *                                             ?wait=queued -> 202 {status, message_id, events} once stored; the answer streams from `events`
 *                                             (with an Idempotency-Key, a retry gets the first answer: idempotency.ts)
 *   GET    /v1/conversations                 the conversations this key may read (an admin key: every one, any channel)
 *   GET    /v1/conversations/{id}            transcript and sessions
 *   DELETE /v1/conversations/{id}/session    same as /new
 *   POST   /v1/chat/completions              OpenAI-compatible (see openai.ts)
 *   GET    /v1/events                        SSE of every readable job's progress (the live dashboard); Last-Event-ID replays what was missed
 *   GET    /v1/conversations/{id}/messages/{message_id}/events   one message's events from Last-Event-ID, to its answer
 *   GET    /v1/approvals, POST /v1/conversations/{id}/approvals/{approval_id}   Claude's requests (approvals.ts)
 *   GET    /v1/conversations/{id}/files...   the workspace: list, preview, download, upload; changes per answer (files.ts)
 *   GET    /v1/conversations/{id}/activity, /v1/search   tool calls per answer, full-text search (history.ts)
 *   GET    /v1/conversations/{id}/terminals...   terminal tabs (shell, claude, codex) and their WebSockets (terminal.ts)
 *   GET    /healthz, /metrics                health (database, queue, CLI) and Prometheus metrics
 *   GET    /                                 the web chat
 *
 * A conversation id without a colon is a name: `work` is `http:<user>:work`, the user being the API
 * key's. Conversations of other channels are read by their full id (`telegram:123`). What a key may
 * read: `Reader` in src/adapter.ts; anything else answers 404.
 */
import fs from 'node:fs';
import path from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { cors } from 'hono/cors';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import type { AdapterHost, GatewayApi, ReceiveResult, StreamAdapter } from '../../src/adapter.js';
import type { JobEvent } from '../../src/bus.js';
import type { HttpEnv } from './context.js';
import { EventLog, type LoggedEvent } from './event-log.js';
import type { HttpConfig } from './definition.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import type { Usage } from '../../src/engine/types.js';
import type { InboundFile } from '../../src/message.js';
import type { MessageOutcome } from '../../src/store/messages.js';
import { finishedOutcome, idempotentRequest, replayHeaders, REUSED_KEY_ERROR, type IdempotentRequest } from './idempotency.js';
import { ApiKeys, keyFromHeaders, newKey, sha256 } from './keys.js';
import { approvalRoutes, withApproval } from './approvals.js';
import { fileRoutes } from './files.js';
import { historyRoutes } from './history.js';
import { TERMINAL_SOCKETS, terminalRoutes, terminalSocket, Tickets } from './terminal.js';
import { chatCompletions, listModels } from './openai.js';
import { secureHeaders } from './security-headers.js';

/** Largest request body, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;

type Env = HttpEnv;

export interface HttpAdapterOptions {
  http: HttpConfig;
  /** Where to print the key made at first start. */
  announce?: (line: string) => void;
}

/** The outcome of one message sent through the API. */
export interface Answer {
  status: 'done' | 'failed' | 'cancelled' | 'handled';
  text: string;
  conversation_id: string;
  message_id?: number;
  session_id?: string;
  cost_usd: number;
  duration_ms: number;
  usage?: Usage;
  error_code?: string;
  /** Why it failed, for people (`text` is the reply as a chat shows it). */
  error_message?: string;
  /** The answer of an earlier request with the same Idempotency-Key (no new turn ran). */
  replayed?: true;
}

export interface SendOptions {
  idempotency?: IdempotentRequest;
  /** False for clients that cannot show approval requests (the OpenAI-compatible endpoint): they are denied with a reason. */
  canAsk?: boolean;
  /** Each job event of the new turn, numbered (none for a replayed answer). */
  onEvent?: (entry: LoggedEvent) => void;
  /** Files sent with the text (a voice note uploaded as the request body). */
  files?: InboundFile[];
  /** Aborted when the client has gone (its stream closed): the message stays queued, nobody waits for its answer here. */
  signal?: AbortSignal;
}

export type SendFailure = { error: string; code?: string; status?: 400 | 422 | 503 };

/** A message stored and waiting (`?wait=queued`): its events follow at `events`. */
export interface Queued {
  status: 'queued' | 'running';
  conversation_id: string;
  message_id: number;
  /** The message's event stream (SSE, to its `done`), relative to the gateway. */
  events: string;
}

/**
 * A stream adapter: each request follows its own message's events (`follow`), and the dashboard
 * (`/v1/events`) and the web chat read and watch the gateway through its API (`serveApi`).
 */
export class HttpAdapter implements StreamAdapter {
  readonly platform = 'http' as const;
  host?: AdapterHost;
  api?: GatewayApi;
  keys = new ApiKeys([]);
  private accepting = true;
  /** Every job event this process saw, numbered: what every event stream sends, and replays on reconnect. */
  readonly events = new EventLog();
  /** Open event streams, closed at shutdown so that clients reconnect (with Last-Event-ID) elsewhere. */
  private readonly streams = new Set<() => void>();
  /** Tickets that open terminal WebSockets (terminal.ts). */
  private readonly tickets = new Tickets();

  constructor(private readonly options: HttpAdapterOptions) {}

  serveApi(api: GatewayApi): void {
    this.api = api;
  }

  async start(host: AdapterHost): Promise<void> {
    this.host = host;
    const api = this.api!;
    // The key cligate makes at first start is its owner's: an admin key.
    this.keys = new ApiKeys([...this.options.http.api_keys, ...api.storedKeys().map((k) => ({ ...k, admin: true }))]);
    if (this.keys.size === 0) {
      // First start with no key configured: make one, keep its hash, show it once.
      const key = newKey();
      api.storeKey(sha256(key), 'owner');
      this.keys.add({ sha256: sha256(key), user: 'owner', admin: true });
      (this.options.announce ?? ((l) => console.error(l)))(
        `cligate: made an API key for user "owner" (shown only now; \`cligate key\` makes more): ${key}\ncligate: log in to the web chat with it, or open its address followed by #key=${key}`,
      );
    }
    host.mount('', getRequestListener(this.app().fetch));
    host.mountUpgrade(TERMINAL_SOCKETS, terminalSocket(() => this.api!, this.tickets, this.options.http.cors_origins));
  }

  async stop(): Promise<void> {
    this.accepting = false;
    this.closeStreams();
  }

  follow(event: JobEvent): void {
    this.events.append(event);
  }

  /** Ends every open event stream (their clients reconnect and are sent what they missed). */
  closeStreams(): void {
    for (const close of [...this.streams]) close();
  }

  private watch(listener: (event: JobEvent) => void): () => void {
    return this.events.subscribe((entry) => listener(entry.event));
  }

  app(): Hono<Env> {
    const app = new Hono<Env>();
    const { http } = this.options;
    app.use('*', secureHeaders(http.frame_ancestors));
    if (http.cors_origins.length) app.use('*', cors({ origin: http.cors_origins, allowHeaders: ['authorization', 'content-type', 'x-api-key', 'x-conversation-id', 'idempotency-key'] }));
    app.onError((err, c) => {
      this.host?.log.error({ err, path: c.req.path }, 'http handler failed');
      return c.json(apiError('Internal error; see the gateway log.', 'internal_error'), 500);
    });
    app.notFound((c) => c.json(apiError(`No route ${c.req.method} ${c.req.path}`, 'not_found'), 404));

    app.get('/healthz', async (c) => {
      const report = await this.api!.health();
      return c.json(report, report.ok ? 200 : 503);
    });
    app.get('/metrics', async (c) => c.text(await this.api!.metrics(), 200, { 'content-type': 'text/plain; version=0.0.4' }));

    if (http.web_chat) {
      app.get('/', (c) => this.asset(c, 'index.html', 'text/html; charset=utf-8'));
      app.get('/app.js', (c) => this.asset(c, 'app.js', 'text/javascript; charset=utf-8'));
      app.get('/app.css', (c) => this.asset(c, 'app.css', 'text/css; charset=utf-8'));
      app.get('/xterm.css', (c) => this.asset(c, 'xterm.css', 'text/css; charset=utf-8'));
    }

    app.use('/v1/*', async (c, next) => {
      const key = keyFromHeaders({ authorization: c.req.header('authorization'), 'x-api-key': c.req.header('x-api-key') });
      if (!key) return c.json(apiError('Missing API key: send "Authorization: Bearer <key>".', 'missing_api_key'), 401);
      const holder = this.keys.holderOf(key);
      if (!holder) return c.json(apiError('Invalid API key.', 'invalid_api_key'), 401);
      c.set('user', holder.user);
      c.set('reader', holder.admin ? { admin: true } : { admin: false, platform: 'http', userId: holder.user });
      await next();
    });

    app.get('/v1/models', (c) => c.json(listModels()));
    app.get('/v1/me', (c) => c.json({ user: c.get('user'), admin: c.get('reader').admin }));
    app.get('/v1/conversations', (c) => c.json({ data: this.api!.conversations(c.get('reader'), Number(c.req.query('limit') ?? 100)) }));
    app.get('/v1/conversations/:id', (c) => {
      const id = fullId(c.get('user'), c.req.param('id'));
      // Another's conversation answers as if there were none.
      const detail = id && this.api!.conversation(c.get('reader'), id);
      return detail ? c.json(detail) : c.json(apiError(`No conversation ${c.req.param('id')}.`, 'not_found'), 404);
    });
    app.delete('/v1/conversations/:id/session', async (c) => {
      const answer = await this.send(c.get('user'), c.req.param('id'), '/new');
      if ('error' in answer) return c.json(apiError(answer.error, 'invalid_request'), 400);
      return c.json(answer);
    });
    app.post('/v1/conversations/:id/messages', async (c) => {
      // A voice note: the body is the audio, any caption in ?caption=.
      const audio = (c.req.header('content-type') ?? '').startsWith('audio/') ? await readAudio(c, http.max_file_mb) : undefined;
      if (audio && 'error' in audio) return c.json(apiError(audio.error, audio.code), audio.status);
      const body = audio ?? await readJson(c);
      if ('error' in body) return c.json(apiError(body.error, body.code), body.status);
      const text = 'files' in body ? c.req.query('caption') ?? '' : (body.value as { text?: unknown })?.text;
      if (typeof text !== 'string') return c.json(apiError('Send a JSON body like {"text": "..."}, or a voice note as an audio/* body.', 'invalid_request'), 400);
      const files = audio?.files;
      const name = c.req.param('id');
      const idempotency = idempotentRequest(c, c.get('user'), name, body.bytes);
      if (idempotency && 'error' in idempotency) return c.json(apiError(idempotency.error, idempotency.code), 400);
      // Store and go: 202 with the message's id at once; its answer streams from its events URL.
      if (c.req.query('wait') === 'queued') {
        const queued = await this.enqueue(c.get('user'), name, text, { idempotency, files });
        if ('error' in queued) return c.json(apiError(queued.error, queued.code ?? 'invalid_request'), queued.status ?? 400);
        return 'events' in queued ? c.json(queued, 202) : c.json(queued, 200, replayHeaders(queued));
      }
      if (c.req.query('stream') === 'false') {
        const answer = await this.send(c.get('user'), name, text, { idempotency, files });
        if ('error' in answer) return c.json(apiError(answer.error, answer.code ?? 'invalid_request'), answer.status ?? 400);
        return c.json(answer, 200, replayHeaders(answer));
      }
      return streamSSE(c, async (stream) => {
        // A client that leaves (e.g. at `queued`) is not waited for: thousands may leave their messages queued.
        const gone = new AbortController();
        stream.onAbort(() => gone.abort());
        const answer = await this.send(c.get('user'), name, text, { idempotency, files, signal: gone.signal, onEvent: (entry) => writeEntry(stream, this.api!, entry) });
        if ('error' in answer) {
          await stream.writeSSE({ event: 'error', data: JSON.stringify(apiError(answer.error, answer.code ?? 'invalid_request')) });
          return;
        }
        // A replay streams nothing live: the text comes whole, for clients that add up text events.
        if (answer.replayed && answer.status === 'done') await stream.writeSSE({ event: 'text', data: JSON.stringify({ conversationId: answer.conversation_id, messageId: answer.message_id, text: answer.text }) });
        await stream.writeSSE({ event: 'done', data: JSON.stringify(answer) });
      });
    });
    app.get('/v1/events', (c) => streamSSE(c, async (stream) => {
      const reader = c.get('reader');
      const readable = new Map<string, boolean>();
      const wanted = (event: JobEvent) => {
        let ok = readable.get(event.conversationId);
        // Asked again at each new message: a conversation becomes readable once its person writes in it.
        if (ok === undefined || (!ok && event.type === 'queued')) readable.set(event.conversationId, (ok = this.api!.canRead(reader, event.conversationId)));
        return ok;
      };
      const ping = setInterval(() => void stream.writeSSE({ event: 'ping', data: '{}' }), 15_000);
      await stream.writeSSE({ event: 'ready', data: JSON.stringify({ lastEventId: this.events.lastId }) });
      await this.follows(stream, lastEventIdOf(c), wanted);
      clearInterval(ping);
    }));
    // A client that lost a message's stream picks it up here, with Last-Event-ID: what it missed, then the rest.
    app.get('/v1/conversations/:id/messages/:message_id/events', (c) => {
      const id = fullId(c.get('user'), c.req.param('id'));
      const messageId = Number(c.req.param('message_id'));
      const outcome = id && Number.isInteger(messageId) && this.api!.canRead(c.get('reader'), id) ? this.api!.outcomeOf(messageId) : undefined;
      if (!outcome || outcome.conversationId !== id) return c.json(apiError(`No message ${c.req.param('message_id')} in conversation ${c.req.param('id')}.`, 'not_found'), 404);
      return streamSSE(c, async (stream) => {
        let answer: Answer | undefined;
        const finished = outcome.status !== 'queued' && outcome.status !== 'running';
        await this.follows(stream, lastEventIdOf(c), (event) => event.messageId === messageId, {
          until: (event) => {
            if (event.type === 'finished') answer = answerOfEvent(event, outcome.conversationId);
            return event.type === 'finished';
          },
          // Too far back to replay: a finished message is told whole, a running one from here on.
          gone: finished ? () => void (answer = answerOf(outcome, messageId)) : undefined,
        });
        if (answer) await stream.writeSSE({ event: 'done', data: JSON.stringify(answer) });
      });
    });
    approvalRoutes(app, () => this.api!, fullId);
    fileRoutes(app, () => this.api!, fullId, http.max_file_mb);
    historyRoutes(app, () => this.api!, fullId);
    terminalRoutes(app, () => this.api!, fullId, this.tickets);
    app.post('/v1/chat/completions', (c) => chatCompletions(c, this));
    return app;
  }

  /**
   * Sends a message into a conversation and waits for its answer, passing each job event to `onEvent`.
   * `name` is an HTTP conversation name, or a full id of one of this user's HTTP conversations. A
   * request whose idempotency key was seen before gets that message's answer, and no new turn.
   */
  async send(user: string, name: string, text: string, options: SendOptions = {}): Promise<Answer | SendFailure> {
    const { idempotency, onEvent, canAsk, files, signal } = options;
    if (!this.accepting) return SHUTTING_DOWN;
    const threadId = threadOf(user, name);
    if (!threadId) return notAConversation(user, name);
    const conversationId = `http:${user}:${threadId}`;
    // Follow before sending: the first events (all of a command's) come before receive() returns.
    const early: LoggedEvent[] = [];
    let messageId: number | undefined;
    let finish: (event: Extract<JobEvent, { type: 'finished' }>) => void = () => {};
    const finished = new Promise<Extract<JobEvent, { type: 'finished' }>>((resolve) => (finish = resolve));
    const deliver = (entry: LoggedEvent) => {
      if (entry.event.type === 'finished') finish(entry.event);
      else onEvent?.(entry);
    };
    const unsubscribe = this.events.subscribe((entry) => {
      if (messageId === undefined) early.push(entry);
      else if (entry.event.messageId === messageId) deliver(entry);
    }, conversationId);
    try {
      const result = await this.receive(user, threadId, text, { idempotency, files, canAsk });
      if ('error' in result) return result;
      if (!isStored(result)) return notQueued(result, conversationId);
      if (result.status === 'duplicate') {
        if (result.messageId === undefined) return SHUTTING_DOWN;
        const outcome = await finishedOutcome(this.api!, (listener) => this.watch(listener), result.messageId, () => this.accepting);
        return outcome ? { ...answerOf(outcome, result.messageId), replayed: true } : SHUTTING_DOWN;
      }
      messageId = result.messageId;
      for (const entry of early.splice(0)) if (entry.event.messageId === messageId) deliver(entry);
      const event = await untilAborted(finished, signal);
      if (!event) return CLIENT_GONE;
      const done = answerOfEvent(event, conversationId);
      // Answered by the gateway (a command, a limit): no turn ran.
      return result.status === 'handled' ? { ...done, status: 'handled' } : done;
    } finally {
      unsubscribe();
    }
  }

  /** Hands a message to the gateway; a failure to store it is a 503 for the client, the cause in the log. */
  private async receive(user: string, threadId: string, text: string, options: Pick<SendOptions, 'idempotency' | 'files' | 'canAsk'>): Promise<ReceiveResult | SendFailure> {
    try {
      return await this.host!.receive({
        address: { platform: 'http', chatId: user, threadId }, userId: user, text, files: options.files,
        messageId: options.idempotency?.messageId, requestSha256: options.idempotency?.requestSha256, canAsk: options.canAsk,
      });
    } catch (err) {
      this.host!.log.error({ err }, 'http: message not accepted');
      return { error: 'The gateway could not accept the message; see its log.', code: 'internal_error', status: 503 };
    }
  }

  /**
   * Stores a message and returns without waiting for its answer (`?wait=queued`): where it stands and
   * where its events are. A command, a refusal, or a retried request whose message has finished is
   * answered whole, as `send` would.
   */
  async enqueue(user: string, name: string, text: string, options: Pick<SendOptions, 'idempotency' | 'files'> = {}): Promise<Queued | Answer | SendFailure> {
    if (!this.accepting) return SHUTTING_DOWN;
    const threadId = threadOf(user, name);
    if (!threadId) return notAConversation(user, name);
    const conversationId = `http:${user}:${threadId}`;
    const result = await this.receive(user, threadId, text, options);
    if ('error' in result) return result;
    if (!isStored(result)) return notQueued(result, conversationId);
    const messageId = result.messageId;
    if (messageId === undefined) return SHUTTING_DOWN;
    const events = `/v1/conversations/${encodeURIComponent(name)}/messages/${messageId}/events`;
    if (result.status === 'accepted') return { status: 'queued', conversation_id: conversationId, message_id: messageId, events };
    // Answered at intake, or a retry: as it stands now.
    const outcome = this.api!.outcomeOf(messageId);
    if (!outcome) return SHUTTING_DOWN;
    if (outcome.status === 'queued' || outcome.status === 'running') return { status: outcome.status, conversation_id: conversationId, message_id: messageId, events };
    return { ...answerOf(outcome, messageId), ...(result.status === 'duplicate' ? { replayed: true as const } : {}) };
  }

  /**
   * Streams the log's events that pass `wanted`: first what the client missed since `lastEventId`,
   * then live ones, each once and in order, until `until` says the stream is complete, the client
   * leaves, or the gateway closes its streams. When the missed events are gone, `gone` runs if given
   * (else the client is sent `reset`: reload what you show).
   */
  private async follows(
    stream: SSEStreamingApi, lastEventId: string | undefined, wanted: (event: JobEvent) => boolean,
    options: { until?: (event: JobEvent) => boolean; gone?: () => void } = {},
  ): Promise<void> {
    const queue: LoggedEvent[] = [];
    let wake = () => {};
    let open = true;
    const close = () => {
      open = false;
      wake();
    };
    // Listen first, then read what was missed: an event in between comes twice and is sent once.
    const unsubscribe = this.events.subscribe((entry) => {
      queue.push(entry);
      wake();
    });
    this.streams.add(close);
    stream.onAbort(close);
    try {
      const missed = this.events.since(lastEventId);
      if ('gone' in missed) {
        if (options.gone) return options.gone();
        await stream.writeSSE({ event: 'reset', data: JSON.stringify({ lastEventId: this.events.lastId }) });
      } else {
        queue.unshift(...missed.events);
      }
      let last = 0;
      while (open) {
        for (let entry = queue.shift(); entry && open; entry = queue.shift()) {
          if (entry.seq <= last || !wanted(entry.event)) continue;
          last = entry.seq;
          await writeEntry(stream, this.api!, entry);
          if (options.until?.(entry.event)) return;
        }
        if (open) await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      unsubscribe();
      this.streams.delete(close);
    }
  }

  private assets = new Map<string, string>();

  private asset(c: Context, name: string, type: string): Response {
    let body = this.assets.get(name);
    if (body === undefined) {
      // Built (npm run build): the bundle, and xterm.js's stylesheet copied from its package.
      const file = name === 'app.js' || name === 'xterm.css' ? path.join(PROJECT_ROOT, 'dist', 'web', name) : path.join(PROJECT_ROOT, 'adapters', 'http', 'web', name);
      try {
        body = fs.readFileSync(file, 'utf8');
      } catch {
        return c.text(`${name} is missing: run \`npm run build\`.`, 500);
      }
      this.assets.set(name, body);
    }
    return c.body(body, 200, { 'content-type': type, 'cache-control': 'no-cache' });
  }
}

const SHUTTING_DOWN: SendFailure = { error: 'The gateway is shutting down; send it again in a moment.', code: 'unavailable', status: 503 };

/** The answer a finished message was given, as the request that sent it got it. */
function answerOf(outcome: MessageOutcome, messageId: number): Answer {
  // Answered at intake (a command, a refusal such as "too long"): no turn ran.
  const handled = outcome.kind === 'command' || (outcome.attempts === 0 && outcome.status === 'failed');
  return {
    status: handled ? 'handled' : (outcome.status as Answer['status']), text: outcome.text,
    conversation_id: outcome.conversationId, message_id: messageId, session_id: outcome.sessionId,
    cost_usd: outcome.costUsd, duration_ms: outcome.durationMs, error_code: outcome.errorCode, error_message: outcome.errorMessage,
  };
}

/** A message stored now or before. */
type Stored = Extract<ReceiveResult, { status: 'accepted' | 'handled' | 'duplicate' }>;

/** The answer to a message that was not stored (refused, an approval's answer) or whose key was reused. */
function notQueued(result: Exclude<ReceiveResult, Stored>, conversationId: string): Answer | SendFailure {
  if (result.status === 'reused') return { error: REUSED_KEY_ERROR, code: 'idempotency_key_reused', status: 422 };
  return { status: 'handled', text: 'text' in result ? result.text : '', conversation_id: conversationId, cost_usd: 0, duration_ms: 0 };
}

function isStored(result: ReceiveResult): result is Stored {
  return result.status === 'accepted' || result.status === 'handled' || result.status === 'duplicate';
}

function notAConversation(user: string, name: string): SendFailure {
  return { error: `"${name}" is not one of your HTTP conversations: use a name of letters, digits, ".", "_" or "-" (at most 64), or "http:${user}:<name>".`, code: 'invalid_conversation' };
}

function threadOf(user: string, name: string): string | undefined {
  if (NAME.test(name)) return name;
  const prefix = `http:${user}:`;
  if (name.startsWith(prefix) && NAME.test(name.slice(prefix.length))) return name.slice(prefix.length);
  return undefined;
}

/** A conversation id from a URL: full ids pass through, names are this user's HTTP conversations. */
function fullId(user: string, id: string): string | undefined {
  if (id.includes(':')) return id;
  return NAME.test(id) ? `http:${user}:${id}` : undefined;
}

export function apiError(message: string, code: string): { error: { message: string; type: string; code: string } } {
  return { error: { message, type: code === 'invalid_api_key' || code === 'missing_api_key' ? 'authentication_error' : 'invalid_request_error', code } };
}

/** Reads a JSON body: at most 1 MB, valid UTF-8, valid JSON, or a clear 4xx. `bytes` is the body as sent. */
export async function readJson(c: Context): Promise<{ value: unknown; bytes: Uint8Array } | { error: string; code: string; status: 400 | 413 | 415 }> {
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > MAX_BODY_BYTES) return { error: `The request body is over ${MAX_BODY_BYTES / 1024 / 1024} MB.`, code: 'body_too_large', status: 413 };
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > MAX_BODY_BYTES) return { error: `The request body is over ${MAX_BODY_BYTES / 1024 / 1024} MB.`, code: 'body_too_large', status: 413 };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { error: 'The request body is not valid UTF-8.', code: 'invalid_encoding', status: 400 };
  }
  try {
    return { value: JSON.parse(text), bytes };
  } catch {
    return { error: 'The request body is not valid JSON.', code: 'invalid_json', status: 400 };
  }
}

/** A job event on an event stream, with its number as the SSE id (an approval event carries the request). */
const AUDIO_EXTENSIONS: Record<string, string> = { 'audio/ogg': 'ogg', 'audio/opus': 'ogg', 'audio/wav': 'wav', 'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/webm': 'webm', 'audio/mpeg': 'mp3', 'audio/mp4': 'm4a' };

/** A voice note sent as the request body (Content-Type audio/*), up to http.max_file_mb. */
async function readAudio(c: Context, maxMb: number): Promise<{ files: InboundFile[]; bytes: Uint8Array } | { error: string; code: string; status: 400 | 413 }> {
  const limit = maxMb * 1024 * 1024;
  const tooLarge = { error: `The audio is over ${maxMb} MB (http.max_file_mb).`, code: 'body_too_large', status: 413 as const };
  if (Number(c.req.header('content-length') ?? 0) > limit) return tooLarge;
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  if (bytes.byteLength > limit) return tooLarge;
  if (!bytes.byteLength) return { error: 'The audio body is empty.', code: 'invalid_request', status: 400 };
  const mime = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const name = `voice-${new Date().toISOString().replace(/[:.]/g, '-')}.${AUDIO_EXTENSIONS[mime] ?? 'audio'}`;
  return { bytes, files: [{ name, size: bytes.byteLength, mime, kind: 'voice', download: async () => bytes }] };
}

async function writeEntry(stream: SSEStreamingApi, api: GatewayApi, entry: LoggedEvent): Promise<void> {
  const { type, ...data } = withApproval(api, entry.event);
  await stream.writeSSE({ event: type, id: entry.id, data: JSON.stringify(data) });
}

/** The answer a finished event carries, as the API gives it. */
function answerOfEvent(done: Extract<JobEvent, { type: 'finished' }>, conversationId: string): Answer {
  return {
    status: done.status, text: done.text, conversation_id: conversationId, message_id: done.messageId,
    session_id: done.sessionId, cost_usd: done.costUsd, duration_ms: done.durationMs, usage: done.usage, error_code: done.errorCode, error_message: done.errorMessage,
  };
}

/** The last event id a reconnecting client saw: the SSE header, or `?last_event_id=` for clients that cannot set it. */
function lastEventIdOf(c: Context): string | undefined {
  return c.req.header('last-event-id') ?? c.req.query('last_event_id') ?? undefined;
}

const CLIENT_GONE: SendFailure = { error: 'The client went away before the answer; the message stays queued.', code: 'client_gone' };

/** `promise`'s value, or undefined as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T | undefined> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.then((value) => {
      signal.removeEventListener('abort', onAbort);
      resolve(value);
    });
  });
}
