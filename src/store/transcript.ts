/** What was said in a conversation, in and out, in order. */
import type { Db, TranscriptRow, TranscriptTable } from './db.js';

export class Transcript {
  constructor(private readonly db: Db) {}

  append(conversationId: string, messageId: number | null, role: TranscriptTable['role'], text: string, now = Date.now()): void {
    this.db.run(this.db.q.insertInto('transcript').values({ conversation_id: conversationId, message_id: messageId, role, text, created_at: now }));
  }

  list(conversationId: string, limit = 200): TranscriptRow[] {
    return this.db.all(
      this.db.q.selectFrom('transcript').selectAll().where('conversation_id', '=', conversationId).orderBy('id', 'desc').limit(limit),
    ).reverse();
  }

  /** The answer or notice written for a message. */
  replyOf(messageId: number): string | undefined {
    return this.db.first(
      this.db.q.selectFrom('transcript').select('text').where('message_id', '=', messageId).where('role', '!=', 'user').orderBy('id', 'desc').limit(1),
    )?.text;
  }

  deleteAll(conversationId: string): void {
    this.db.run(this.db.q.deleteFrom('transcript').where('conversation_id', '=', conversationId));
  }
}
