/**
 * The inbox: every accepted message, stored before the platform is acknowledged, and the state of
 * its turn. Order within a conversation is the order of ids; a message left `running` by a crashed
 * worker is simply the next one to run again.
 */
import { sql } from 'kysely';
import type { MessageErrorCode } from '../engine/types.js';
import { Statement, type Db, type Message, type MessagesTable, type MessageStatus } from './db.js';

export type NewMessage = Omit<MessagesTable, 'id' | 'attempts' | 'cancel_requested' | 'session_id' | 'engine_process' | 'error_code' | 'error_message' | 'cost_usd' | 'started_at' | 'finished_at' | 'can_ask' | 'schedule_id'> & {
  can_ask?: number;
  schedule_id?: number | null;
  /** For a command: the gateway process answering it (`host:pid`), so no other one answers it too. */
  engine_process?: string | null;
};

/** Where a message stands and, once it is finished, what it was answered. */
export interface MessageOutcome {
  conversationId: string;
  kind: 'prompt' | 'command';
  status: MessageStatus;
  /** Times an engine started on it: 0 for a message answered at intake (a command, a refusal). */
  attempts: number;
  /** The answer or notice recorded for it ('' while it runs, or when stopped before any text). */
  text: string;
  /** The engine's id of the session the turn ran in. */
  sessionId?: string;
  costUsd: number;
  /** From the start of the (last) attempt to the end. */
  durationMs: number;
  errorCode?: MessageErrorCode;
  /** Why it failed, for people (without the chat's decoration). */
  errorMessage?: string;
}

export class Messages {
  constructor(private readonly db: Db) {}

  /** Stores the message, or returns 'duplicate' when this platform message id was seen before. */
  insert(message: NewMessage): number | 'duplicate' {
    const inserted = this.db.first(insertMessage.with({ ...message, can_ask: message.can_ask ?? 1, schedule_id: message.schedule_id ?? null, engine_process: message.engine_process ?? null }));
    return inserted ? inserted.id : 'duplicate';
  }

  /** The message a platform already sent with this id, if any. */
  byPlatformId(platform: string, platformMessageId: string): Pick<Message, 'id' | 'conversation_id' | 'request_sha256'> | undefined {
    return this.db.first(
      this.db.q.selectFrom('messages').select(['id', 'conversation_id', 'request_sha256'])
        .where('platform', '=', platform).where('platform_message_id', '=', platformMessageId),
    );
  }

  outcome(id: number): MessageOutcome | undefined {
    const row = this.db.first(
      this.db.q.selectFrom('messages as m').leftJoin('sessions as s', 's.id', 'm.session_id')
        .select((eb) => [
          'm.conversation_id', 'm.kind', 'm.status', 'm.attempts', 'm.cost_usd', 'm.error_code', 'm.error_message', 'm.started_at', 'm.finished_at', 's.engine_session_id',
          eb.selectFrom('transcript as t').select('t.text')
            .whereRef('t.message_id', '=', 'm.id').where('t.role', '!=', 'user').orderBy('t.id', 'desc').limit(1).as('reply'),
        ])
        .where('m.id', '=', id),
    );
    if (!row) return undefined;
    return {
      conversationId: row.conversation_id, kind: row.kind, status: row.status, attempts: row.attempts, text: row.reply ?? '',
      sessionId: row.engine_session_id ?? undefined, costUsd: row.cost_usd ?? 0,
      durationMs: row.started_at !== null && row.finished_at !== null ? row.finished_at - row.started_at : 0,
      errorCode: row.error_code ?? undefined, errorMessage: row.error_message ?? undefined,
    };
  }

  get(id: number): Message | undefined {
    return this.db.first(messageById.with({ id }));
  }

  /** The next message of the conversation to run: the oldest queued, or one a crash left running. */
  next(conversationId: string): Message | undefined {
    return this.db.first(nextMessage.with({ conversationId }));
  }

  /**
   * Claims a message for its turn. Undefined when it was cancelled or finished since it was read
   * (a schedule cancelled from another process, /forget): then it must not run.
   */
  markRunning(id: number, now = Date.now()): Message | undefined {
    return this.db.first(markRunning.with({ id, now }));
  }

  /** Puts a message interrupted by a shutdown back in the queue: not a failure, not an attempt. */
  requeue(id: number): void {
    this.db.run(this.db.q.updateTable('messages').set((eb) => ({ status: 'queued', attempts: eb('attempts', '-', 1) })).where('id', '=', id));
  }

  finish(id: number, status: Exclude<MessageStatus, 'queued' | 'running'>, fields: { sessionId?: number | null; errorCode?: MessageErrorCode | null; errorMessage?: string | null; costUsd?: number | null }, now = Date.now()): void {
    this.db.run(finishMessage.with({
      id, status, finished_at: now, session_id: fields.sessionId ?? null,
      error_code: fields.errorCode ?? null, error_message: fields.errorMessage ?? null, cost_usd: fields.costUsd ?? null,
    }));
  }

  /** /stop: the running message is flagged for the worker, queued ones are cancelled. */
  requestCancel(conversationId: string, now = Date.now()): { running: number; dropped: number[] } {
    return this.db.tx(() => {
      const running = this.db.run(
        this.db.q.updateTable('messages').set({ cancel_requested: 1 })
          .where('conversation_id', '=', conversationId).where('status', '=', 'running').where('kind', '=', 'prompt'),
      ).changes;
      const dropped = this.db.all(
        this.db.q.updateTable('messages').set({ status: 'cancelled', finished_at: now, error_code: 'cancelled' })
          .where('conversation_id', '=', conversationId).where('status', '=', 'queued').returning('id'),
      ).map((row) => row.id);
      return { running, dropped };
    });
  }

  /** Commands stored but not answered yet: the gateway answering them may be running, or have died. */
  unfinishedCommands(): Message[] {
    return this.db.all(this.db.q.selectFrom('messages').selectAll().where('kind', '=', 'command').where('status', '=', 'running').orderBy('id'));
  }

  /**
   * Takes an unanswered command over from the process recorded as answering it (`from`), for
   * `owner`. False when it was answered or taken meanwhile: two gateways starting together take it once.
   */
  takeCommand(id: number, from: string | null, owner: string): boolean {
    return this.db.run(
      this.db.q.updateTable('messages').set({ engine_process: owner })
        .where('id', '=', id).where('kind', '=', 'command').where('status', '=', 'running')
        .where((eb) => (from === null ? eb('engine_process', 'is', null) : eb('engine_process', '=', from))),
    ).changes === 1;
  }

  /** Records which CLI process runs the turn ("host:pid"). */
  setEngineProcess(id: number, record: string): void {
    this.db.run(this.db.q.updateTable('messages').set({ engine_process: record }).where('id', '=', id));
  }

  cancelRequested(id: number): boolean {
    return this.db.first(cancelRequested.with({ id }))?.cancel_requested === 1;
  }

  /** Conversations with work left, oldest first. */
  pendingConversations(limit = 1000): string[] {
    return this.db.all(
      this.db.q.selectFrom('messages').select('conversation_id')
        .where('status', 'in', ['queued', 'running'])
        .where('kind', '=', 'prompt')
        .groupBy('conversation_id')
        .orderBy(sql`min(id)`)
        .limit(limit),
    ).map((r) => r.conversation_id);
  }

  counts(conversationId?: string): { queued: number; running: number } {
    if (conversationId) return this.db.first(conversationCounts.with({ conversationId })) ?? { queued: 0, running: 0 };
    const query = this.db.q.selectFrom('messages')
      .select([
        sql<number>`count(*) filter (where status = 'queued')`.as('queued'),
        sql<number>`count(*) filter (where status = 'running')`.as('running'),
      ])
      .where('status', 'in', ['queued', 'running'])
      .where('kind', '=', 'prompt');
    return this.db.first(query) ?? { queued: 0, running: 0 };
  }

  /** Messages of a person since `since` (for the rate limit). */
  countByUserSince(userKey: string, since: number): number {
    return this.db.first(
      this.db.q.selectFrom('messages').select(sql<number>`count(*)`.as('n'))
        .where('user_key', '=', userKey).where('received_at', '>=', since).where('kind', '=', 'prompt'),
    )?.n ?? 0;
  }

  /** What a person's turns cost since `since` (for the daily budget). */
  costByUserSince(userKey: string, since: number): number {
    return this.db.first(
      this.db.q.selectFrom('messages').select(sql<number>`coalesce(sum(cost_usd), 0)`.as('cost'))
        .where('user_key', '=', userKey).where('received_at', '>=', since),
    )?.cost ?? 0;
  }

  /** Outcome counts since start, for /metrics. */
  outcomes(): Record<string, number> {
    const rows = this.db.all(
      this.db.q.selectFrom('messages').select(['status', sql<number>`count(*)`.as('n')]).where('kind', '=', 'prompt').groupBy('status'),
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  }
}

// The statements every message runs, compiled once (see Statement).
const insertMessage = new Statement((q, m: NewMessage & { can_ask: number; schedule_id: number | null; engine_process: string | null }) =>
  q.insertInto('messages').values({
    conversation_id: m.conversation_id, kind: m.kind, platform: m.platform, platform_message_id: m.platform_message_id,
    request_sha256: m.request_sha256, user_id: m.user_id, user_key: m.user_key, text: m.text, attachments: m.attachments,
    reply_context: m.reply_context, status: m.status, received_at: m.received_at, can_ask: m.can_ask, schedule_id: m.schedule_id,
    engine_process: m.engine_process, attempts: 0, cancel_requested: 0,
  })
    .onConflict((oc) => oc.columns(['platform', 'platform_message_id']).where('platform_message_id', 'is not', null).doNothing())
    .returning('id'));

const messageById = new Statement((q, a: { id: number }) => q.selectFrom('messages').selectAll().where('id', '=', a.id));

const nextMessage = new Statement((q, a: { conversationId: string }) =>
  q.selectFrom('messages').selectAll()
    .where('conversation_id', '=', a.conversationId)
    .where('kind', '=', 'prompt')
    .where('status', 'in', ['queued', 'running'])
    .orderBy('id').limit(1));

const markRunning = new Statement((q, a: { id: number; now: number }) =>
  q.updateTable('messages').set((eb) => ({ status: 'running', attempts: eb('attempts', '+', 1), started_at: a.now }))
    .where('id', '=', a.id).where('status', 'in', ['queued', 'running'])
    .returningAll());

const finishMessage = new Statement((q, a: Pick<Message, 'id' | 'status' | 'finished_at' | 'session_id' | 'error_code' | 'error_message' | 'cost_usd'>) =>
  q.updateTable('messages')
    .set({ status: a.status, finished_at: a.finished_at, session_id: a.session_id, error_code: a.error_code, error_message: a.error_message, cost_usd: a.cost_usd })
    .where('id', '=', a.id));

const cancelRequested = new Statement((q, a: { id: number }) => q.selectFrom('messages').select('cancel_requested').where('id', '=', a.id));

const conversationCounts = new Statement((q, a: { conversationId: string }) =>
  q.selectFrom('messages')
    .select([
      sql<number>`count(*) filter (where status = 'queued')`.as('queued'),
      sql<number>`count(*) filter (where status = 'running')`.as('running'),
    ])
    .where('status', 'in', ['queued', 'running'])
    .where('kind', '=', 'prompt')
    .where('conversation_id', '=', a.conversationId));
