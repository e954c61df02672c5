/**
 * The coarse half of a memory search: every memory of a scope as a 1-bit-per-dimension code, kept
 * in this process's memory, ranked by Hamming distance to the query's code in one pass. A few
 * hundred candidates from here are then scored exactly (store.ts). At 100k memories a pass takes
 * about 4 ms, where sqlite-vec's own k-nearest search needs ~45 ms for the 400 candidates that keep
 * recall@10 above 0.95.
 *
 * The codes are read with plain SQL, alike on SQLite and PostgreSQL (memory_vectors.bits).
 * Other processes (workers, MCP servers) change memories too, so each use compares the scope's
 * change counters in `memory_scopes`: new memories are appended, anything else reloads the scope.
 */
import type { Db } from '../store/db.js';

interface ScopeCodes {
  ids: Int32Array;
  codes: Uint32Array;
  count: number;
  maxId: number;
  version: number;
  resets: number;
}

interface Counters {
  version: number;
  resets: number;
  size: number;
}

/** Scopes kept in memory at most (each costs dimension / 8 bytes per memory). */
const MAX_SCOPES = 256;

/** The sign bits of a vector, 32 per word. */
export function codeOf(vector: Float32Array): Uint32Array {
  const code = new Uint32Array(Math.ceil(vector.length / 32));
  for (let d = 0; d < vector.length; d++) if (vector[d]! > 0) code[d >> 5]! |= 1 << (d & 31);
  return code;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Plain per-word count, for codes too long for the byte-wise sum (over 1,024 dimensions). */
function popcountWords(all: Uint32Array, offset: number, query: Uint32Array, words: number): number {
  let d = 0;
  for (let w = 0; w < words; w++) d += popcount(all[offset + w]! ^ query[w]!);
  return d;
}

export class BitIndex {
  private readonly scopes = new Map<string, ScopeCodes>();
  private readonly words: number;

  constructor(private readonly db: Db, private readonly model: string, private readonly dimension: number) {
    this.words = Math.ceil(dimension / 32);
  }

  /**
   * Ids of the `n` memories of the scope nearest to `vector` by Hamming distance; undefined when the
   * scope has at most `exactBelow` memories (scoring them all exactly is then cheaper).
   */
  candidates(scope: string, vector: Float32Array, n: number, exactBelow = n): number[] | undefined {
    const counters = this.db.sql<Counters>('select version, resets, size from memory_scopes where scope = ?', scope)[0];
    if (!counters || counters.size <= Math.max(n, exactBelow)) return undefined;
    const codes = this.fresh(scope, counters);
    if (codes.count <= Math.max(n, exactBelow)) return undefined;
    const query = codeOf(vector);
    const { count, codes: all } = codes;
    const words = this.words;
    const distances = new Uint16Array(count);
    const histogram = new Uint32Array(this.dimension + 1);
    // The hot loop of recall: per memory, XOR with the query and count bits. Byte-wise partial counts
    // are summed across words (a byte holds at most 8 per word: no overflow below 32 words) and
    // folded once per memory.
    for (let i = 0, offset = 0; i < count; i++, offset += words) {
      let bytes = 0;
      for (let w = 0; w < words; w++) {
        let x = all[offset + w]! ^ query[w]!;
        x -= (x >>> 1) & 0x55555555;
        x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
        bytes += (x + (x >>> 4)) & 0x0f0f0f0f;
      }
      const d = words < 32 ? Math.imul(bytes, 0x01010101) >>> 24 : popcountWords(all, offset, query, words);
      distances[i] = d;
      histogram[d]!++;
    }
    // The distance within which the n nearest lie, then one pass to collect them.
    let cut = 0;
    for (let seen = 0; cut <= this.dimension; cut++) {
      seen += histogram[cut]!;
      if (seen >= n) break;
    }
    const out: number[] = [];
    for (let i = 0; i < codes.count && out.length < n; i++) if (distances[i]! < cut) out.push(codes.ids[i]!);
    for (let i = 0; i < codes.count && out.length < n; i++) if (distances[i] === cut) out.push(codes.ids[i]!);
    return out;
  }

  /** The scope's codes, loaded or brought up to date as needed. */
  private fresh(scope: string, counters: Counters): ScopeCodes {
    let codes = this.scopes.get(scope);
    if (codes && codes.version === counters.version) return this.touch(scope, codes);
    if (!codes || codes.resets !== counters.resets) codes = { ids: new Int32Array(64), codes: new Uint32Array(64 * this.words), count: 0, maxId: 0, version: 0, resets: counters.resets };
    const rows = this.db.sql<{ id: number; bits: Buffer }>(`
      select v.id, v.bits from memory_vectors v join memories m on m.id = v.id
      where m.scope = ? and m.model = ? and v.id > ? order by v.id`, scope, this.model, codes.maxId);
    codes = this.append(codes, rows);
    codes.version = counters.version;
    return this.touch(scope, codes);
  }

  private append(codes: ScopeCodes, rows: { id: number; bits: Buffer }[]): ScopeCodes {
    const needed = codes.count + rows.length;
    if (needed > codes.ids.length) {
      const size = Math.max(needed, codes.ids.length * 2);
      const ids = new Int32Array(size);
      ids.set(codes.ids.subarray(0, codes.count));
      const words = new Uint32Array(size * this.words);
      words.set(codes.codes.subarray(0, codes.count * this.words));
      codes = { ...codes, ids, codes: words };
    }
    // Copied as bytes: a Buffer from the database need not be 4-byte aligned.
    const bytes = new Uint8Array(codes.codes.buffer);
    for (const row of rows) {
      codes.ids[codes.count] = row.id;
      bytes.set(row.bits.subarray(0, this.words * 4), codes.count * this.words * 4);
      codes.count++;
      codes.maxId = row.id;
    }
    return codes;
  }

  /** Most recently used scopes stay; the oldest is dropped past MAX_SCOPES. */
  private touch(scope: string, codes: ScopeCodes): ScopeCodes {
    this.scopes.delete(scope);
    this.scopes.set(scope, codes);
    if (this.scopes.size > MAX_SCOPES) this.scopes.delete(this.scopes.keys().next().value!);
    return codes;
  }
}
