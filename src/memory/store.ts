/**
 * Memories and their vectors in SQLite. A search is two steps: the coarse one ranks the scope's
 * 1-bit codes by Hamming distance (bit-index.ts) and keeps a few hundred candidates; the exact one
 * scores those by cosine with sqlite-vec's vec_distance_cosine over the float vectors. The check for
 * a near-duplicate on insert uses sqlite-vec's own k-nearest search over the bit table, which is
 * cheap for the handful of candidates it needs.
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
/** Candidates sqlite-vec fetches for the near-duplicate check (its k-nearest search slows down with k). */
const DEDUPE_CANDIDATES = 40;

export class MemoryStore {
  private readonly bits: string;
  private readonly index: BitIndex;

  constructor(private readonly db: Db, readonly model: string, readonly dimension: number) {
    if (!Number.isInteger(dimension) || dimension <= 0 || dimension % 8 !== 0) {
      throw new Error(`embedding dimension ${dimension} is not a positive multiple of 8`);
    }
    this.bits = `memory_bits_${dimension}`;
    db.raw.exec(`create virtual table if not exists ${this.bits} using vec0(scope text partition key, embedding bit[${dimension}])`);
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
        this.db.raw.prepare('update memory_vectors set vector = ?, bits = ? where id = ?').run(blob(vector), codeBlob(vector), nearest);
        // vec0 cannot update a bit vector from a function's result: replace the row.
        this.db.raw.prepare(`delete from ${this.bits} where rowid = ?`).run(BigInt(nearest));
        this.db.raw.prepare(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`).run(BigInt(nearest), memory.scope, blob(vector));
        this.changed(memory.scope, true, 0);
        return { id: nearest, merged: true };
      }
      const id = Number(this.db.run(this.db.q.insertInto('memories').values({
        scope: memory.scope, text: memory.text, source: memory.source, conversation_id: memory.conversationId,
        user_key: memory.userKey, model: this.model, hits: 0, created_at: now, updated_at: now,
      })).lastInsertRowid);
      this.db.raw.prepare('insert into memory_vectors (id, vector, bits) values (?, ?, ?)').run(id, blob(vector), codeBlob(vector));
      this.db.raw.prepare(`insert into ${this.bits} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`).run(BigInt(id), memory.scope, blob(vector));
      this.changed(memory.scope, false, 1);
      return { id, merged: false };
    });
  }

  /** The `k` memories of the scope most similar to `vector`, at least `minScore`, best first. */
  search(scope: string, vector: Float32Array, k: number, minScore = -1): FoundMemory[] {
    this.checkVector(vector);
    const ids = this.index.candidates(scope, vector, Math.max(CANDIDATES, k), EXACT_BELOW);
    if (!ids) return this.searchExact(scope, vector, k).filter((row) => row.score >= minScore);
    return this.rerank(ids, vector, k, minScore);
  }

  /** Exact search over every memory of the scope (also the reference the two-step search is measured against). */
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

  /** A memory of the scope at least `threshold` similar, found among sqlite-vec's nearest few. */
  private nearDuplicate(scope: string, vector: Float32Array, threshold: number): number | undefined {
    const candidates = this.db.raw
      .prepare(`select rowid from ${this.bits} where embedding match vec_quantize_binary(?) and k = ? and scope = ?`)
      .all(blob(vector), DEDUPE_CANDIDATES, scope) as { rowid: number }[];
    return this.rerank(candidates.map((c) => c.rowid), vector, 1, threshold)[0]?.id;
  }

  private rerank(ids: number[], vector: Float32Array, k: number, minScore: number): FoundMemory[] {
    if (!ids.length) return [];
    return (this.db.raw.prepare(`
      select m.*, 1 - vec_distance_cosine(v.vector, ?) as score
      from memory_vectors v join memories m on m.id = v.id
      where v.id in (select value from json_each(?)) and m.model = ?
      order by score desc limit ?`)
      .all(blob(vector), JSON.stringify(ids), this.model, k) as FoundMemory[])
      .filter((row) => row.score >= minScore);
  }

  private deleteRows(rows: MemoryRow[]): void {
    const removed = new Map<string, number>();
    for (const row of rows) {
      this.db.raw.prepare(`delete from ${this.bits} where rowid = ?`).run(BigInt(row.id));
      this.db.raw.prepare('delete from memory_vectors where id = ?').run(row.id);
      this.db.raw.prepare('delete from memories where id = ?').run(row.id);
      removed.set(row.scope, (removed.get(row.scope) ?? 0) + 1);
    }
    for (const [scope, count] of removed) this.changed(scope, true, -count);
  }

  /** Tells every process's bit index that the scope changed (only by additions, or otherwise), and by how many memories. */
  private changed(scope: string, reset: boolean, sizeDelta: number): void {
    this.db.raw.prepare(`
      insert into memory_scopes (scope, version, resets, size) values (?, 1, ?, ?)
      on conflict(scope) do update set version = version + 1, resets = resets + excluded.resets, size = size + excluded.size`).run(scope, reset ? 1 : 0, sizeDelta);
  }

  private checkVector(vector: Float32Array): void {
    if (vector.length !== this.dimension) throw new Error(`vector has ${vector.length} dimensions, the model ${this.model} makes ${this.dimension}`);
  }
}

function blob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function codeBlob(vector: Float32Array): Buffer {
  const code = codeOf(vector);
  return Buffer.from(code.buffer, code.byteOffset, code.byteLength);
}
