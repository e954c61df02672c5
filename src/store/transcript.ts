/** What was said in a conversation, in and out, in order. */
import type { Db, TranscriptRow, TranscriptTable } from './db.js';

export interface SearchHit {
  id: number;
  conversation_id: string;
  message_id: number | null;
  role: TranscriptTable['role'];
  created_at: number;
  /** The matching text around the words, which are in [brackets]. */
  snippet: string;
}

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

  /**
   * Transcript lines matching every word of `text` (full-text, SQLite FTS5), best first, each with
   * a snippet marking the words. `conversationIds` limits the search (undefined: every conversation).
   */
  search(text: string, conversationIds: string[] | undefined, limit = 50): SearchHit[] {
    const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (!words.length || conversationIds?.length === 0) return [];
    // Each word quoted, so nothing a person types is read as FTS5 syntax; the last one as a prefix.
    const match = words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ');
    const only = conversationIds ? `and t.conversation_id in (${conversationIds.map(() => '?').join(',')})` : '';
    return this.db.raw.prepare(
      `select t.id, t.conversation_id, t.message_id, t.role, t.created_at, snippet(transcript_search, 0, '[', ']', '…', 12) as snippet
       from transcript_search s join transcript t on t.id = s.rowid
       where transcript_search match ? ${only} order by s.rank limit ?`,
    ).all(match, ...(conversationIds ?? []), limit) as SearchHit[];
  }

  deleteAll(conversationId: string): void {
    this.db.run(this.db.q.deleteFrom('transcript').where('conversation_id', '=', conversationId));
  }
}
