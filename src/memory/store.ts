/**
 * Memories and their vectors in SQLite. A search is two steps: a coarse k-nearest search over
 * 1-bit-per-dimension vectors in a sqlite-vec table partitioned by scope (Hamming distance, fast),
 * then an exact cosine re-rank of those candidates from the float vectors. Small scopes are
 * searched exactly, since every memory is a candidate.
 */
import { sql } from 'kysely';
import type { Db, MemoryRow } from '../store/db.js';

export interface NewMemory {
  scope: string;
  text: string;
  source: MemoryRow['source'];
  conversationId: string | null;
  userKey: string;
}

export interface FoundMemory extends MemoryRow {
  /** Cosine similarity to the query, 1 = same direction. */
  score: number;
}

/**
 * Candidates the coarse search fetches per memory wanted, and at least. sqlite-vec's k-nearest
 * search slows down with k (at 100k vectors: about 3.5 ms plus 0.1 ms per candidate), so few.
 */
const OVERSAMPLE = 4;
const MIN_CANDIDATES = 40;
/** sqlite-vec's upper bound for k. */
const MAX_K = 4096;

export class MemoryStore {
  private readonly bits: string;

  constructor(private readonly db: Db, readonly model: string, readonly dimension: number) {
    if (!Number.isInteger(dimension) || dimension <= 0 || dimension % 8 !== 0) {
      throw new Error(`embedding dimension ${dimension} is not a positive multiple of 8`);
    }
    this.bits = `memory_bits_${dimension}`;
    db.raw.exec(`create virtual table if not exists ${this.bits} using vec0(scope text partition key, embedding bit[${dimension}])`);
  }

  /**
   * Stores a memory, or, when one in the same scope is at least `dedupeThreshold` similar, merges
   * into it (its text becomes the newer one) instead of storing a second copy.
   */
  add(memory: NewMemory, vector: Float32Array, dedupeThreshold: number, now = Date.now()): { id: number; merged: boolean } {
    this.checkVector(vector);
    return this.db.tx(() => {
      const [nearest] = this.search(memory.scope, vector, 1, dedupeThreshold);
      if (nearest) {
        this.db.run(this.db.q.updateTable('memories')
          .set((eb) => ({ text: memory.text, updated_at: now, hits: eb('hits', '+', 1), source: memory.source }))
          .where('id', '=', nearest.id));
        this.db.raw.prepare('update memory_vectors set vector = ? where id = ?').run(blob(vector), nearest.id);
        // vec0 cannot update a bit vector from a function's result: replace the row.
        this.db.raw.prepare(`delete from ${this.bits} where rowid = ?`).run(BigInt(nearest.id));
        this.db.raw.prepare(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`).run(BigInt(nearest.id), memory.scope, blob(vector));
        return { id: nearest.id, merged: true };
      }
      const id = Number(this.db.run(this.db.q.insertInto('memories').values({
        scope: memory.scope, text: memory.text, source: memory.source, conversation_id: memory.conversationId,
        user_key: memory.userKey, model: this.model, hits: 0, created_at: now, updated_at: now,
      })).lastInsertRowid);
      this.db.raw.prepare('insert into memory_vectors (id, vector) values (?, ?)').run(id, blob(vector));
      this.db.raw.prepare(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`).run(BigInt(id), memory.scope, blob(vector));
      return { id, merged: false };
    });
  }

  /** The `k` memories of the scope most similar to `vector`, at least `minScore`, best first. */
  search(scope: string, vector: Float32Array, k: number, minScore = -1): FoundMemory[] {
    this.checkVector(vector);
    const candidates = this.db.raw
      .prepare(`select rowid from ${this.bits} where embedding match vec_quantize_binary(?) and k = ? and scope = ?`)
      .all(blob(vector), Math.min(MAX_K, Math.max(k * OVERSAMPLE, MIN_CANDIDATES)), scope) as { rowid: number }[];
    if (!candidates.length) return [];
    return this.db.raw.prepare(`
      select m.*, 1 - vec_distance_cosine(v.vector, ?) as score
      from memory_vectors v join memories m on m.id = v.id
      where v.id in (select value from json_each(?)) and m.model = ?
      order by score desc limit ?`)
      .all(blob(vector), JSON.stringify(candidates.map((c) => c.rowid)), this.model, k)
      .filter((row) => (row as FoundMemory).score >= minScore) as FoundMemory[];
  }

  /** Exact search over every memory of the scope (the reference the coarse search is measured against). */
  searchExact(scope: string, vector: Float32Array, k: number): FoundMemory[] {
    return this.db.raw.prepare(`
      select m.*, 1 - vec_distance_cosine(v.vector, ?) as score
      from memories m join memory_vectors v on v.id = m.id
      where m.scope = ? and m.model = ? order by score desc limit ?`)
      .all(blob(vector), scope, this.model, k) as FoundMemory[];
  }

  recent(scope: string, limit = 10): MemoryRow[] {
    return this.db.all(this.db.q.selectFrom('memories').selectAll().where('scope', '=', scope).orderBy('updated_at', 'desc').orderBy('id', 'desc').limit(limit));
  }

  get(id: number): MemoryRow | undefined {
    return this.db.first(this.db.q.selectFrom('memories').selectAll().where('id', '=', id));
  }

  /** Counts recalls, so /memory can show what is used. */
  touch(ids: number[]): void {
    if (!ids.length) return;
    this.db.run(this.db.q.updateTable('memories').set((eb) => ({ hits: eb('hits', '+', 1) })).where('id', 'in', ids));
  }

  /** Deletes one memory, if it belongs to one of `scopes`. */
  remove(id: number, scopes: string[]): boolean {
    return this.db.tx(() => {
      const row = this.get(id);
      if (!row || !scopes.includes(row.scope)) return false;
      this.deleteIds([id]);
      return true;
    });
  }

  /** Deletes every memory said in a conversation (whatever its scope). */
  removeConversation(conversationId: string): number {
    return this.db.tx(() => {
      const ids = this.db.all(this.db.q.selectFrom('memories').select('id').where('conversation_id', '=', conversationId)).map((r) => r.id);
      this.deleteIds(ids);
      return ids.length;
    });
  }

  countConversation(conversationId: string): number {
    return Number(this.db.first(this.db.q.selectFrom('memories').select(sql<number>`count(*)`.as('n')).where('conversation_id', '=', conversationId))?.n ?? 0);
  }

  private deleteIds(ids: number[]): void {
    const removeBits = this.db.raw.prepare(`delete from ${this.bits} where rowid = ?`);
    for (const id of ids) {
      removeBits.run(BigInt(id));
      this.db.raw.prepare('delete from memory_vectors where id = ?').run(id);
      this.db.raw.prepare('delete from memories where id = ?').run(id);
    }
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, the model ${this.model} makes ${this.dimension}`);
  }
}

function blob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}
