/**
 * The outbox: each chunk of every reply is written here before it is sent and marked sent after,
 * so a platform that is down, or a restart, delays a reply but never loses it. While an answer
 * streams, its first row holds the id of the draft message being edited (status `draft`), so the
 * final text replaces the draft instead of arriving twice.
 *
 * A reply is stored whole (`split` = 0); the gateway, which knows the platform's size limit, cuts
 * it into chunk rows before the first send.
 */
import { Statement, type Db, type OutboxRow } from './db.js';

/** Sequence numbers of notes sent besides an answer (skipped attachments...). */
export const NOTE_SEQ = 1_000_000;

export interface ReplyOptions {
  /** Sequence number of the row; 0 for an answer or a command's reply. */
  seq?: number;
  ephemeral?: boolean;
  file?: { path: string; name: string };
}

export class Outbox {
  constructor(private readonly db: Db) {}

  /** Queues a reply. A draft posted while streaming keeps its platform id, so the reply becomes an edit of it. */
  addReply(conversationId: string, messageId: number, text: string, deadlineAt: number, options: ReplyOptions = {}, now = Date.now()): void {
    const seq = options.seq ?? 0;
    const ephemeral = options.ephemeral ? 1 : 0;
    this.db.run(addReply.with({ conversationId, messageId, seq, text, ephemeral, filePath: options.file?.path ?? null, deadlineAt, now }));
  }

  /** Remembers the draft message posted while an answer streams. */
  setDraft(conversationId: string, messageId: number, platformRef: string, now = Date.now()): void {
    this.db.run(
      this.db.q.insertInto('outbox')
        .values({
          conversation_id: conversationId, message_id: messageId, seq: 0, text: '', split: 0, ephemeral: 0, file_path: null,
          platform_ref: platformRef, status: 'draft', attempts: 0, next_attempt_at: now, deadline_at: now,
          last_error: null, created_at: now, sent_at: null,
        })
        .onConflict((oc) => oc.columns(['message_id', 'seq']).where('message_id', 'is not', null).doUpdateSet({ platform_ref: platformRef })),
    );
  }

  /** Forgets the draft of a message (it was removed from the chat); returns its platform id, if there was one. */
  clearDraft(messageId: number): string | undefined {
    const row = this.db.first(this.db.q.selectFrom('outbox').select(['id', 'platform_ref']).where('message_id', '=', messageId).where('seq', '=', 0).where('status', '=', 'draft'));
    if (!row) return undefined;
    this.db.run(this.db.q.deleteFrom('outbox').where('id', '=', row.id));
    return row.platform_ref ?? undefined;
  }

  /** Replaces a whole reply row by its platform-sized chunks (the first keeps the row and its draft). */
  split(row: OutboxRow, chunks: string[]): OutboxRow[] {
    return this.db.tx(() => {
      this.db.run(this.db.q.updateTable('outbox').set({ text: chunks[0] ?? '', split: 1 }).where('id', '=', row.id));
      for (let i = 1; i < chunks.length; i++) {
        this.db.run(
          this.db.q.insertInto('outbox').values({
            conversation_id: row.conversation_id, message_id: row.message_id, seq: row.seq + i, text: chunks[i]!, split: 1,
            ephemeral: row.ephemeral, file_path: null, platform_ref: null, status: 'pending', attempts: 0,
            next_attempt_at: row.next_attempt_at, deadline_at: row.deadline_at, last_error: null, created_at: row.created_at, sent_at: null,
          }).onConflict((oc) => oc.columns(['message_id', 'seq']).where('message_id', 'is not', null)
            .doUpdateSet({ text: chunks[i]!, split: 1, status: 'pending' })),
        );
      }
      return this.db.all(
        this.db.q.selectFrom('outbox').selectAll().where('message_id', '=', row.message_id)
          .where('seq', '>=', row.seq).where('seq', '<', row.seq + Math.max(1, chunks.length)).orderBy('seq'),
      );
    });
  }

  /** One row as it is now. */
  get(id: number): OutboxRow | undefined {
    return this.db.first(rowById.with({ id }));
  }

  row(messageId: number, seq: number): OutboxRow | undefined {
    return this.db.first(this.db.q.selectFrom('outbox').selectAll().where('message_id', '=', messageId).where('seq', '=', seq));
  }

  /** Rows due for sending, in order. */
  due(now = Date.now(), limit = 500): OutboxRow[] {
    return this.db.all(dueRows.with({ now, limit }));
  }

  /** Pending rows of a conversation that wait for a retry: later rows must wait behind them. */
  blocked(conversationId: string, now = Date.now()): boolean {
    return this.db.first(waitingRetry.with({ conversationId, now })) !== undefined;
  }

  /** When the earliest waiting retry is due. */
  nextRetryAt(): number | undefined {
    const row = this.db.first(
      this.db.q.selectFrom('outbox').select((eb) => eb.fn.min('next_attempt_at').as('at')).where('status', '=', 'pending'),
    );
    return row?.at ?? undefined;
  }

  markSent(id: number, platformRef: string | null, now = Date.now()): void {
    this.db.run(markSent.with({ id, platformRef, now }));
  }

  markRetry(id: number, error: string, nextAttemptAt: number): void {
    this.db.run(
      this.db.q.updateTable('outbox')
        .set((eb) => ({ attempts: eb('attempts', '+', 1), last_error: error.slice(0, 500), next_attempt_at: nextAttemptAt }))
        .where('id', '=', id),
    );
  }

  markFailed(id: number, error: string): void {
    this.db.run(
      this.db.q.updateTable('outbox').set((eb) => ({ status: 'failed', attempts: eb('attempts', '+', 1), last_error: error.slice(0, 500) })).where('id', '=', id),
    );
  }

  /** Rows waiting to be sent, in one conversation or in all. */
  pendingCount(conversationId?: string): number {
    let query = this.db.q.selectFrom('outbox').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'pending');
    if (conversationId) query = query.where('conversation_id', '=', conversationId);
    return Number(this.db.first(query)?.n ?? 0);
  }
}

// The statements every reply runs, compiled once (see Statement).
interface NewReply {
  conversationId: string;
  messageId: number;
  seq: number;
  text: string;
  ephemeral: number;
  filePath: string | null;
  deadlineAt: number;
  now: number;
}
const addReply = new Statement((q, a: NewReply) =>
  q.insertInto('outbox')
    .values({
      conversation_id: a.conversationId, message_id: a.messageId, seq: a.seq, text: a.text, split: 0, ephemeral: a.ephemeral,
      file_path: a.filePath, platform_ref: null, status: 'pending', attempts: 0,
      next_attempt_at: a.now, deadline_at: a.deadlineAt, last_error: null, created_at: a.now, sent_at: null,
    })
    .onConflict((oc) => oc.columns(['message_id', 'seq']).where('message_id', 'is not', null)
      .doUpdateSet({ text: a.text, split: 0, ephemeral: a.ephemeral, status: 'pending', next_attempt_at: a.now, deadline_at: a.deadlineAt })));

const dueRows = new Statement((q, a: { now: number; limit: number }) =>
  q.selectFrom('outbox').selectAll()
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', a.now)
    .orderBy('message_id', (ob) => ob.asc().nullsFirst()).orderBy('seq').limit(a.limit));

const waitingRetry = new Statement((q, a: { conversationId: string; now: number }) =>
  q.selectFrom('outbox').select('id').where('conversation_id', '=', a.conversationId)
    .where('status', '=', 'pending').where('next_attempt_at', '>', a.now).limit(1));

const markSent = new Statement((q, a: { id: number; platformRef: string | null; now: number }) =>
  q.updateTable('outbox').set({ status: 'sent', platform_ref: a.platformRef, sent_at: a.now, last_error: null }).where('id', '=', a.id));

const rowById = new Statement((q, a: { id: number }) => q.selectFrom('outbox').selectAll().where('id', '=', a.id));
