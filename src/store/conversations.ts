/** Conversations and the engine sessions each one has had (one active at a time). */
import { sql, type SqlBool } from 'kysely';
import type { ChatAddress } from '../message.js';
import { conversationIdOf } from '../message.js';
import type { EngineName } from '../config/schema.js';
import { Statement, type Conversation, type Db, type Session } from './db.js';

export interface ConversationSummary extends Conversation {
  last_text: string | null;
  session_cost: number;
  total_cost: number;
  turns: number;
}

export class Conversations {
  constructor(private readonly db: Db) {}

  /** The conversation at this address, created on first use (`touch` marks each new message). */
  ensure(address: ChatAddress, userId: string, now = Date.now()): Conversation {
    const id = conversationIdOf(address);
    const existing = this.get(id);
    if (existing) return existing;
    this.db.run(
      this.db.q.insertInto('conversations')
        .values({
          id, platform: address.platform, chat_id: address.chatId, thread_id: address.threadId ?? '',
          user_id: userId, title: null, engine: null, permission_mode: null, active_session_id: null, last_message_at: now,
          created_at: now, updated_at: now,
        })
        // Two first messages at once: the other process created it a moment ago.
        .onConflict((oc) => oc.column('id').doNothing()),
    );
    return this.get(id)!;
  }

  /** A message arrived: the conversation moves up the list (called in the message's transaction). */
  touch(id: string, now = Date.now()): void {
    this.db.run(touchConversation.with({ id, now }));
  }

  get(id: string): Conversation | undefined {
    return this.db.first(conversationById.with({ id }));
  }

  /** The most recent conversations; with `viewer`, only those they may see (`Viewer`). */
  list(limit = 100, viewer?: Viewer): ConversationSummary[] {
    const q = this.db.q;
    let query = q.selectFrom('conversations as c');
    if (viewer) query = query.where(visibleTo(viewer));
    return this.db.all(
      query
        .leftJoin('sessions as s', 's.id', 'c.active_session_id')
        .selectAll('c')
        .select([
          sql<string | null>`(select text from transcript t where t.conversation_id = c.id order by t.id desc limit 1)`.as('last_text'),
          sql<number>`coalesce(s.cost_usd, 0)`.as('session_cost'),
          sql<number>`coalesce(s.turns, 0)`.as('turns'),
          sql<number>`(select coalesce(sum(cost_usd), 0) from sessions x where x.conversation_id = c.id)`.as('total_cost'),
        ])
        .orderBy('c.last_message_at', (ob) => ob.desc().nullsLast())
        .limit(limit),
    ) as ConversationSummary[];
  }

  /** Whether `viewer` may see this conversation. */
  visible(conversationId: string, viewer: Viewer): boolean {
    return this.db.first(
      this.db.q.selectFrom('conversations as c').select('c.id').where('c.id', '=', conversationId).where(visibleTo(viewer)),
    ) !== undefined;
  }

  activeSession(conversation: Conversation): Session | undefined {
    if (conversation.active_session_id === null) return undefined;
    return this.session(conversation.active_session_id);
  }

  session(id: number): Session | undefined {
    return this.db.first(sessionById.with({ id }));
  }

  sessions(conversationId: string): Session[] {
    return this.db.all(this.db.q.selectFrom('sessions').selectAll().where('conversation_id', '=', conversationId).orderBy('id'));
  }

  /** Starts a new, empty session and makes it the active one. */
  startSession(conversationId: string, engine: EngineName, workspace: string, now = Date.now()): Session {
    return this.db.tx(() => {
      const { id } = this.db.first(
        this.db.q.insertInto('sessions').values({
          conversation_id: conversationId, engine, engine_session_id: null, workspace, turns: 0, cost_usd: 0,
          created_at: now, last_used_at: now,
        }).returning('id'),
      )!;
      this.db.run(this.db.q.updateTable('conversations').set({ active_session_id: id, updated_at: now }).where('id', '=', conversationId));
      return this.session(id)!;
    });
  }

  /** Makes no session active: the next message starts a fresh one. Old sessions stay listed. */
  detachSession(conversationId: string): void {
    this.db.run(this.db.q.updateTable('conversations').set({ active_session_id: null, updated_at: Date.now() }).where('id', '=', conversationId));
  }

  useSession(conversationId: string, sessionId: number): void {
    this.db.run(this.db.q.updateTable('conversations').set({ active_session_id: sessionId, updated_at: Date.now() }).where('id', '=', conversationId));
  }

  /** Deletes every session of the conversation (the CLI's own files stay where the CLI keeps them). */
  deleteSessions(conversationId: string): number {
    return this.db.tx(() => {
      this.db.run(this.db.q.updateTable('conversations').set({ active_session_id: null }).where('id', '=', conversationId));
      return this.db.run(this.db.q.deleteFrom('sessions').where('conversation_id', '=', conversationId)).changes;
    });
  }

  setEngine(conversationId: string, engine: EngineName | null): void {
    this.db.run(this.db.q.updateTable('conversations').set({ engine, updated_at: Date.now() }).where('id', '=', conversationId));
  }

  /** Records a finished turn on its session. */
  recordTurn(sessionId: number, engineSessionId: string | undefined, costUsd: number, now = Date.now()): void {
    this.db.run((engineSessionId ? recordTurnIn : recordTurn).with({ sessionId, engineSessionId: engineSessionId ?? null, costUsd, now }));
  }

  /** Forgets the CLI's session id (it no longer exists on disk), keeping the row. */
  clearEngineSession(sessionId: number): void {
    this.db.run(this.db.q.updateTable('sessions').set({ engine_session_id: null, turns: 0 }).where('id', '=', sessionId));
  }
}

/**
 * Someone reading conversations (a user's API key): they see the chats that are theirs on their
 * platform (chat id = their id: their own web conversations, their DM with the bot) and every
 * conversation in which they, as a person (`[people]`), wrote a message.
 */
export interface Viewer {
  platform: string;
  userId: string;
  userKey: string;
}

/** The condition on `conversations as c` that `viewer` may see it. */
function visibleTo(viewer: Viewer) {
  return sql<SqlBool>`((c.platform = ${viewer.platform} and c.chat_id = ${viewer.userId})
    or exists (select 1 from messages m where m.conversation_id = c.id and m.user_key = ${viewer.userKey}))`;
}

// The statements every message runs, compiled once (see Statement).
const conversationById = new Statement((q, a: { id: string }) => q.selectFrom('conversations').selectAll().where('id', '=', a.id));
const touchConversation = new Statement((q, a: { id: string; now: number }) => q.updateTable('conversations').set({ last_message_at: a.now }).where('id', '=', a.id));
const sessionById = new Statement((q, a: { id: number }) => q.selectFrom('sessions').selectAll().where('id', '=', a.id));

interface TurnRecord {
  sessionId: number;
  engineSessionId: string | null;
  costUsd: number;
  now: number;
}
/** A turn's cost and time; `recordTurnIn` also keeps the CLI's session id it reported. */
const recordTurn = new Statement((q, a: TurnRecord) =>
  q.updateTable('sessions').set((eb) => ({ turns: eb('turns', '+', 1), cost_usd: eb('cost_usd', '+', a.costUsd), last_used_at: a.now })).where('id', '=', a.sessionId));
const recordTurnIn = new Statement((q, a: TurnRecord) =>
  q.updateTable('sessions')
    .set((eb) => ({ turns: eb('turns', '+', 1), cost_usd: eb('cost_usd', '+', a.costUsd), last_used_at: a.now, engine_session_id: a.engineSessionId }))
    .where('id', '=', a.sessionId));
