/** What was said in a conversation, in and out, in order. */
import { Statement, type Db, type TranscriptRow, type TranscriptTable } from './db.js';

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
    this.db.run(appendLine.with({ conversation_id: conversationId, message_id: messageId, role, text, created_at: now }));
  }

  list(conversationId: string, limit = 200): TranscriptRow[] {
    return this.db.all(
      this.db.q.selectFrom('transcript').selectAll().where('conversation_id', '=', conversationId).orderBy('id', 'desc').limit(limit),
    ).reverse();
  }

  /**
   * Transcript lines matching every word of `text` (full-text: SQLite's FTS5, PostgreSQL's text search), best first, each with
   * a snippet marking the words. `conversationIds` limits the search (undefined: every conversation).
   */
  search(text: string, conversationIds: string[] | undefined, limit = 50): SearchHit[] {
    const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (!words.length || conversationIds?.length === 0) return [];
    if (this.db.dialect === 'postgres') return this.searchPostgres(words, conversationIds, limit);
    this.indexForSearch();
    // Each word quoted, so nothing a person types is read as FTS5 syntax; the last one as a prefix.
    const match = words.map((w, i) => `"${w}"${i === words.length - 1 ? '*' : ''}`).join(' ');
    const only = conversationIds ? `and t.conversation_id in (${conversationIds.map(() => '?').join(',')})` : '';
    return this.db.sql<SearchHit>(
      `select t.id, t.conversation_id, t.message_id, t.role, t.created_at, snippet(transcript_search, 0, '[', ']', '…', 12) as snippet
       from transcript_search s join transcript t on t.id = s.rowid
       where transcript_search match ? ${only} order by s.rank limit ?`,
      match, ...(conversationIds ?? []), limit,
    );
  }

  /**
   * Adds the lines stored since the last batch to SQLite's search index, in one transaction (see
   * migrations/008_search_in_batches.sql). PostgreSQL searches the table itself: nothing to do.
   */
  indexForSearch(): number {
    if (this.db.dialect === 'postgres') return 0;
    return this.db.tx(() => {
      const added = this.db.raw.prepare(
        'insert into transcript_search (rowid, text) select t.id, t.text from transcript_unindexed u join transcript t on t.id = u.id order by u.id',
      ).run().changes;
      if (added) this.db.raw.prepare('delete from transcript_unindexed').run();
      return added;
    });
  }

  /**
   * The same on PostgreSQL: its text search over the `transcript_search` expression index
   * (migrations/postgres), every word required, the last as a prefix; ties go to the newest line.
   */
  private searchPostgres(words: string[], conversationIds: string[] | undefined, limit: number): SearchHit[] {
    // The words hold only letters, digits and _, so quoting each keeps it a plain term.
    const query = words.map((w, i) => `'${w}'${i === words.length - 1 ? ':*' : ''}`).join(' & ');
    return this.db.sql<SearchHit>(
      `select t.id, t.conversation_id, t.message_id, t.role, t.created_at,
         ts_headline('simple', left(t.text, 100000), q, 'StartSel=[, StopSel=], MaxWords=12, MinWords=5, MaxFragments=1') as snippet
       from transcript t, to_tsquery('simple', ?) q
       where to_tsvector('simple', left(t.text, 100000)) @@ q and (?::text[] is null or t.conversation_id = any(?::text[]))
       order by ts_rank(to_tsvector('simple', left(t.text, 100000)), q, 1) desc, t.id desc limit ?`,
      query, conversationIds ?? null, conversationIds ?? null, limit,
    );
  }

  deleteAll(conversationId: string): void {
    this.db.run(this.db.q.deleteFrom('transcript').where('conversation_id', '=', conversationId));
  }
}

const appendLine = new Statement((q, line: Omit<TranscriptRow, 'id'>) =>
  q.insertInto('transcript').values({ conversation_id: line.conversation_id, message_id: line.message_id, role: line.role, text: line.text, created_at: line.created_at }));
