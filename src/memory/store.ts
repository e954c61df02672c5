/**
 * Memories and their vectors, in SQLite or PostgreSQL. A search is two steps: the coarse one ranks
 * the scope's 1-bit codes by Hamming distance (bit-index.ts) and keeps a few hundred candidates; the
 * exact one scores those by cosine over the float vectors. On SQLite, sqlite-vec scores them
 * (vec_distance_cosine), and the check for a near-duplicate on insert uses its own k-nearest search
 * over a bit table, which is cheap for the handful of candidates it needs. PostgreSQL has no
 * sqlite-vec: the vectors are a plain bytea column, scored here in JavaScript once fetched by id, and
 * the near-duplicate check takes its candidates from the bit index too.
 */
import { sql } from 'kysely';
import type { Db, MemoryRow } from '../store/db.js';
import { BitIndex, codeOf } from './bit-index.js';

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

/** Candidates the coarse step keeps for the exact one: enough for recall@10 above 0.95 (see bench/memory.ts). */
const CANDIDATES = 400;
/** Up to this many memories in a scope, an exact scan is faster than the two steps. */
const EXACT_BELOW = 2500;
/**
 * On PostgreSQL every vector scored crosses from the server, and an exact scan moves the whole
 * scope's: it is only cheaper than the two steps up to the number of candidates the second one fetches.
 */
const EXACT_BELOW_POSTGRES = CANDIDATES;
/** Candidates sqlite-vec fetches for the near-duplicate check (its k-nearest search slows down with k). */
const DEDUPE_CANDIDATES = 40;

export class MemoryStore {
  private readonly bits: string;
  /** sqlite-vec is there (SQLite): its bit table mirrors memory_vectors.bits, and it scores vectors. */
  private readonly vec: boolean;
  private readonly index: BitIndex;

  constructor(private readonly db: Db, readonly model: string, readonly dimension: number) {
    if (!Number.isInteger(dimension) || dimension <= 0 || dimension % 8 !== 0) {
      throw new Error(`embedding dimension ${dimension} is not a positive multiple of 8`);
    }
    this.bits = `memory_bits_${dimension}`;
    this.vec = db.dialect === 'sqlite';
    if (this.vec) db.raw.exec(`create virtual table if not exists ${this.bits} using vec0(scope text partition key, embedding bit[${dimension}])`);
    this.index = new BitIndex(db, model, dimension);
  }

  /**
   * Stores a memory, or, when one in the same scope is at least `dedupeThreshold` similar, merges
   * into it (its text becomes the newer one) instead of storing a second copy.
   */
  add(memory: NewMemory, vector: Float32Array, dedupeThreshold: number, now = Date.now()): { id: number; merged: boolean } {
    this.checkVector(vector);
    return this.db.tx(() => {
      const nearest = this.nearDuplicate(memory.scope, vector, dedupeThreshold);
      if (nearest !== undefined) {
        this.db.run(this.db.q.updateTable('memories')
          .set((eb) => ({ text: memory.text, updated_at: now, hits: eb('hits', '+', 1), source: memory.source }))
          .where('id', '=', nearest));
        this.db.sql('update memory_vectors set vector = ?, bits = ? where id = ?', blob(vector), codeBlob(vector), nearest);
        if (this.vec) {
          // vec0 cannot update a bit vector from a function's result: replace the row.
          this.db.sql(`delete from ${this.bits} where rowid = ?`, BigInt(nearest));
          this.db.sql(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`, BigInt(nearest), memory.scope, blob(vector));
        }
        this.changed(memory.scope, true, 0);
        return { id: nearest, merged: true };
      }
      const { id } = this.db.first(this.db.q.insertInto('memories').values({
        scope: memory.scope, text: memory.text, source: memory.source, conversation_id: memory.conversationId,
        user_key: memory.userKey, model: this.model, hits: 0, created_at: now, updated_at: now,
      }).returning('id'))!;
      this.db.sql('insert into memory_vectors (id, vector, bits) values (?, ?, ?)', id, blob(vector), codeBlob(vector));
      if (this.vec) this.db.sql(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`, BigInt(id), memory.scope, blob(vector));
      this.changed(memory.scope, false, 1);
      return { id, merged: false };
    });
  }

  /** The `k` memories of the scope most similar to `vector`, at least `minScore`, best first. */
  search(scope: string, vector: Float32Array, k: number, minScore = -1): FoundMemory[] {
    this.checkVector(vector);
    const ids = this.index.candidates(scope, vector, Math.max(CANDIDATES, k), this.vec ? EXACT_BELOW : EXACT_BELOW_POSTGRES);
    if (!ids) return this.searchExact(scope, vector, k).filter((row) => row.score >= minScore);
    return this.rerank(ids, vector, k, minScore);
  }

  /** Exact search over every memory of the scope (also the reference the two-step search is measured against). */
  searchExact(scope: string, vector: Float32Array, k: number): FoundMemory[] {
    if (!this.vec) {
      // Every vector of the scope, scored here; then the rows of the best k only.
      const scored = this.db.sql<{ id: number; vector: Buffer }>(`
        select v.id, v.vector from memory_vectors v join memories m on m.id = v.id
        where m.scope = ? and m.model = ?`, scope, this.model);
      return this.withRows(best(scored, vector, k, -1));
    }
    return this.db.sql<FoundMemory>(`
      select m.*, 1 - vec_distance_cosine(v.vector, ?) as score
      from memories m join memory_vectors v on v.id = m.id
      where m.scope = ? and m.model = ? order by score desc limit ?`,
    blob(vector), scope, this.model, k);
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
      this.deleteRows([row]);
      return true;
    });
  }

  /** Deletes every memory said in a conversation (whatever its scope). */
  removeConversation(conversationId: string): number {
    return this.db.tx(() => {
      const rows = this.db.all(this.db.q.selectFrom('memories').selectAll().where('conversation_id', '=', conversationId));
      this.deleteRows(rows);
      return rows.length;
    });
  }

  countConversation(conversationId: string): number {
    return Number(this.db.first(this.db.q.selectFrom('memories').select(sql<number>`count(*)`.as('n')).where('conversation_id', '=', conversationId))?.n ?? 0);
  }

  /** A memory of the scope at least `threshold` similar, found among the nearest few by Hamming distance (sqlite-vec's, or the bit index's). */
  private nearDuplicate(scope: string, vector: Float32Array, threshold: number): number | undefined {
    if (!this.vec) {
      // The same nearest few by Hamming distance as sqlite-vec's, from the bit index (all of a small scope).
      const ids = this.index.candidates(scope, vector, DEDUPE_CANDIDATES);
      if (!ids) return this.searchExact(scope, vector, 1).filter((row) => row.score >= threshold)[0]?.id;
      return this.rerank(ids, vector, 1, threshold)[0]?.id;
    }
    const candidates = this.db.sql<{ rowid: number }>(
      `select rowid from ${this.bits} where embedding match vec_quantize_binary(?) and k = ? and scope = ?`,
      blob(vector), DEDUPE_CANDIDATES, scope);
    return this.rerank(candidates.map((c) => c.rowid), vector, 1, threshold)[0]?.id;
  }

  private rerank(ids: number[], vector: Float32Array, k: number, minScore: number): FoundMemory[] {
    if (!ids.length) return [];
    if (!this.vec) {
      // The ids on both sides of the join: PostgreSQL does not carry `= any` across it, and would scan all memories.
      const rows = this.db.sql<MemoryRow & { vector: Buffer }>(`
        select m.*, v.vector from memory_vectors v join memories m on m.id = v.id
        where v.id = any(?) and m.id = any(?) and m.model = ?`, ids, ids, this.model);
      return best(rows, vector, k, minScore).map(({ vector: _, ...row }) => row);
    }
    return this.db.sql<FoundMemory>(`
      select m.*, 1 - vec_distance_cosine(v.vector, ?) as score
      from memory_vectors v join memories m on m.id = v.id
      where v.id in (select value from json_each(?)) and m.model = ?
      order by score desc limit ?`,
    blob(vector), JSON.stringify(ids), this.model, k)
      .filter((row) => row.score >= minScore);
  }

  /** The memories of scored ids, in the same order (PostgreSQL's exact search). */
  private withRows(scored: { id: number; score: number }[]): FoundMemory[] {
    if (!scored.length) return [];
    const rows = new Map(this.db.sql<MemoryRow>('select * from memories where id = any(?)', scored.map((s) => s.id)).map((row) => [row.id, row]));
    return scored.flatMap(({ id, score }) => {
      const row = rows.get(id);
      return row ? [{ ...row, score }] : [];
    });
  }

  private deleteRows(rows: MemoryRow[]): void {
    const removed = new Map<string, number>();
    for (const row of rows) {
      if (this.vec) this.db.sql(`delete from ${this.bits} where rowid = ?`, BigInt(row.id));
      this.db.sql('delete from memory_vectors where id = ?', row.id);
      this.db.sql('delete from memories where id = ?', row.id);
      removed.set(row.scope, (removed.get(row.scope) ?? 0) + 1);
    }
    for (const [scope, count] of removed) this.changed(scope, true, -count);
  }

  /** Tells every process's bit index that the scope changed (only by additions, or otherwise), and by how many memories. */
  private changed(scope: string, reset: boolean, sizeDelta: number): void {
    // Columns qualified by the table: PostgreSQL requires it, SQLite accepts it.
    this.db.sql(`
      insert into memory_scopes (scope, version, resets, size) values (?, 1, ?, ?)
      on conflict(scope) do update set version = memory_scopes.version + 1, resets = memory_scopes.resets + excluded.resets,
        size = memory_scopes.size + excluded.size`, scope, reset ? 1 : 0, sizeDelta);
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, the model ${this.model} makes ${this.dimension}`);
  }
}

function blob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

/** Float32 vector bytes, copied when not 4-byte aligned (a Buffer from the database need not be). */
function floats(bytes: Buffer): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
  return new Float32Array(Uint8Array.from(bytes).buffer);
}

/** Cosine similarity, as sqlite-vec's 1 - vec_distance_cosine computes it. */
function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    aa += x * x;
    bb += y * y;
  }
  return dot / (Math.sqrt(aa) * Math.sqrt(bb));
}

/** The `k` rows most similar to `vector`, at least `minScore`, best first, each with its score. */
function best<R extends { id: number; vector: Buffer }>(rows: R[], vector: Float32Array, k: number, minScore: number): (R & { score: number })[] {
  // The best k so far, kept sorted (k is small; an exact scan may see a whole scope).
  if (k <= 0) return [];
  const top: { row: R; score: number }[] = [];
  const before = (a: { row: R; score: number }, b: { row: R; score: number }) => a.score > b.score || (a.score === b.score && a.row.id < b.row.id);
  for (const row of rows) {
    const item = { row, score: cosine(vector, floats(row.vector)) };
    if (item.score < minScore || (top.length >= k && !before(item, top[top.length - 1]!))) continue;
    let i = top.length;
    while (i > 0 && before(item, top[i - 1]!)) i--;
    top.splice(i, 0, item);
    if (top.length > k) top.pop();
  }
  return top.map(({ row, score }) => ({ ...row, score }));
}

function codeBlob(vector: Float32Array): Buffer {
  const code = codeOf(vector);
  return Buffer.from(code.buffer, code.byteOffset, code.byteLength);
}
