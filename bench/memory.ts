/**
 * Memory benchmark (`npm run bench:memory`, also the end of `npm run bench`):
 *   - recall latency (median, p99) at 10k, 100k and 1M memories in one scope, and 1M spread over
 *     1,000 scopes, with recall@10 of the coarse-then-exact search against an exact search;
 *   - embedding latency of one short text and of a batch of 32, and the embedder's memory.
 *
 * Vectors are 384-d and clustered like sentence embeddings (topics, and texts scattered around
 * them); queries are new texts of a topic. With CLIGATE_BENCH_PG_URL=postgres://... set, one more
 * row measures PostgreSQL at 100k memories (or BENCH_MEMORY_PG_SIZE): its rows go into scopes named
 * for this run, deleted at the end. No MiniLM model can be had offline here, so embedding is
 * measured with the model the tests build (see test/support/static-model.ts), on the real
 * transformers.js path; set BENCH_MODEL=<id> and BENCH_MODEL_DIR=<folder> to measure another one.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Embedder } from '../src/memory/embedder.js';
import { codeOf } from '../src/memory/bit-index.js';
import { MemoryStore } from '../src/memory/store.js';
import { openDb, type Db } from '../src/store/db.js';
import { Store } from '../src/store/index.js';
import { tmpDir } from '../test/support/harness.js';
import { buildStaticModel } from '../test/support/static-model.js';

const DIM = 384;
const SIZES = (process.env.BENCH_MEMORY_SIZES ?? '10000,100000,1000000').split(',').map(Number);
const QUERIES = 100;

function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    // A Gaussian from two uniforms (Box-Muller), from a small LCG: fast and repeatable.
    s = (s * 1664525 + 1013904223) >>> 0;
    const u = (s + 1) / 2 ** 32;
    s = (s * 1664525 + 1013904223) >>> 0;
    const v = (s + 1) / 2 ** 32;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

function normalize(v: Float32Array): Float32Array {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n);
  for (let i = 0; i < v.length; i++) v[i]! /= n;
  return v;
}

/** Texts of a topic: the topic's direction plus as much noise again (cosine to the topic about 0.7). */
function around(center: Float32Array, r: () => number): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = center[i]! + r() / Math.sqrt(DIM);
  return normalize(v);
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(q * xs.length) - 1)]!;

export async function memoryBench(log: (line: string) => void = (l) => console.error(`[bench] ${l}`)): Promise<string> {
  // The embedder first, while the process is small, so its memory figure is not lost in the noise.
  const embedding = await embeddingRows(log);
  const lines = ['| memories | scopes | recall median / p99 | exact search median | recall@10 vs exact | first recall in a process (loads the scope) |', '|---|---|---|---|---|---|'];
  for (const [total, scopes] of [...SIZES.map((n) => [n, 1] as const), ...(SIZES.includes(1_000_000) ? [[1_000_000, 1000] as const] : [])]) {
    log(`memory recall: ${total.toLocaleString('en')} memories in ${scopes} scope(s)`);
    lines.push(recallRow(total, scopes));
  }
  const pgUrl = process.env.CLIGATE_BENCH_PG_URL;
  if (pgUrl) {
    const total = Number(process.env.BENCH_MEMORY_PG_SIZE ?? 100_000);
    log(`memory recall on PostgreSQL: ${total.toLocaleString('en')} memories in 1 scope`);
    lines.push(postgresRecallRow(pgUrl, total));
  }
  lines.push('', ...embedding);
  return lines.join('\n');
}

function recallRow(total: number, scopes: number): string {
  const dir = tmpDir('cligate-membench-');
  const db = openDb(path.join(dir, 'memory.db'));
  const store = new MemoryStore(db, 'bench', DIM);
  const r = random(total + scopes);
  const topics = Array.from({ length: Math.max(50, Math.round(total / 500)) }, () => normalize(Float32Array.from({ length: DIM }, r)));
  // Bulk load straight into the tables (the dedupe check of add() is not what is measured here).
  const insertMemory = db.raw.prepare("insert into memories (id, scope, text, source, conversation_id, user_key, model, hits, created_at, updated_at) values (?, ?, '', 'automatic', null, 'u', 'bench', 0, 0, 0)");
  const insertVector = db.raw.prepare('insert into memory_vectors (id, vector, bits) values (?, ?, ?)');
  const insertBits = db.raw.prepare(`insert into memory_bits_${DIM} (rowid, scope, embedding) values (?, ?, vec_quantize_binary(?))`);
  const perScope = Math.ceil(total / scopes);
  db.raw.exec('begin');
  for (let id = 1; id <= total; id++) {
    const scope = `s${Math.floor((id - 1) / perScope)}`;
    const v = around(topics[id % topics.length]!, r);
    const blob = Buffer.from(v.buffer);
    const code = codeOf(v);
    insertMemory.run(id, scope);
    insertVector.run(id, blob, Buffer.from(code.buffer));
    insertBits.run(BigInt(id), scope, blob);
    if (id % 50_000 === 0) {
      db.raw.exec('commit');
      db.raw.exec('begin');
    }
  }
  db.raw.exec('commit');
  const addScope = db.raw.prepare('insert into memory_scopes (scope, version, resets, size) values (?, 1, 0, ?)');
  for (let s = 0; s < scopes; s++) addScope.run(`s${s}`, perScope);
  const row = measure(store, topics, r, total, scopes, (s) => `s${s}`);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return row;
}

/**
 * The same on PostgreSQL (no sqlite-vec: codes ranked in-process, vectors scored in JavaScript),
 * one scope, loaded with multi-row inserts. The exact search moves every vector of the scope from
 * the server, so it is timed on fewer queries.
 */
function postgresRecallRow(url: string, total: number): string {
  const store = Store.open({ driver: 'postgres', url, path: '' });
  const db = store.db;
  const scope = `bench-${process.pid}-${Date.now()}`;
  try {
    const memories = new MemoryStore(db, 'bench', DIM);
    const r = random(total + 1);
    const topics = Array.from({ length: Math.max(50, Math.round(total / 500)) }, () => normalize(Float32Array.from({ length: DIM }, r)));
    const BATCH = 500;
    for (let from = 1; from <= total; from += BATCH) {
      const n = Math.min(BATCH, total - from + 1);
      const vectors = Array.from({ length: n }, (_, i) => around(topics[(from + i) % topics.length]!, r));
      db.tx(() => {
        const ids = db.sql<{ id: number }>(
          `insert into memories (scope, text, source, conversation_id, user_key, model, hits, created_at, updated_at)
           values ${vectors.map(() => "(?, '', 'automatic', null, 'u', 'bench', 0, 0, 0)").join(', ')} returning id`,
          ...vectors.map(() => scope)).map((row) => row.id);
        db.sql(`insert into memory_vectors (id, vector, bits) values ${vectors.map(() => '(?, ?, ?)').join(', ')}`,
          ...vectors.flatMap((v, i) => [ids[i], Buffer.from(v.buffer), Buffer.from(codeOf(v).buffer)]));
      });
    }
    db.sql('insert into memory_scopes (scope, version, resets, size) values (?, 1, 0, ?)', scope, total);
    return measure(memories, topics, r, total, 1, () => scope, Number(process.env.BENCH_MEMORY_PG_EXACT_QUERIES ?? 10)).replace(/^\| /, '| PostgreSQL: ');
  } finally {
    db.tx(() => {
      db.sql('delete from memory_vectors where id in (select id from memories where scope = ?)', scope);
      db.sql('delete from memories where scope = ?', scope);
      db.sql('delete from memory_scopes where scope = ?', scope);
    });
    store.close();
  }
}

/** Recall latency and recall@10 against the exact search (timed on the first `exactQueries` queries). */
function measure(store: MemoryStore, topics: Float32Array[], r: () => number, total: number, scopes: number, scopeOf: (s: number) => string, exactQueries = QUERIES): string {
  // The first search of a scope in a process loads its codes; later ones only look for changes.
  const t0 = performance.now();
  store.search(scopeOf(0), around(topics[0]!, r), 10);
  const firstLoad = performance.now() - t0;
  const times: number[] = [];
  const exactTimes: number[] = [];
  let found = 0;
  for (let q = 0; q < QUERIES; q++) {
    const query = around(topics[q % topics.length]!, r);
    const scope = scopeOf(q % scopes);
    let t = performance.now();
    const coarse = store.search(scope, query, 10);
    times.push(performance.now() - t);
    t = performance.now();
    const exact = new Set(store.searchExact(scope, query, 10).map((m) => m.id));
    if (q < exactQueries) exactTimes.push(performance.now() - t);
    found += coarse.filter((m) => exact.has(m.id)).length;
  }
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return `| ${total.toLocaleString('en')} | ${scopes.toLocaleString('en')} | ${ms(quantile(times, 0.5))} / ${ms(quantile(times, 0.99))} | ${ms(quantile(exactTimes, 0.5))} | ${(found / (QUERIES * 10)).toFixed(3)} | ${ms(firstLoad)} |`;
}

async function embeddingRows(log: (line: string) => void): Promise<string[]> {
  const root = process.env.BENCH_MODEL_DIR ?? path.join(tmpDir('cligate-model-'), 'models');
  const model = process.env.BENCH_MODEL ?? buildStaticModel(root, DIM).id;
  log(`embedding: ${model}`);
  const before = process.memoryUsage().rss;
  const embedder = new Embedder({ model, cacheDir: root, offline: true, dtype: process.env.BENCH_MODEL ? 'q8' : 'fp32' });
  const state = await embedder.ready;
  if (!state.ok) return [`embedding: ${state.error}`];
  const one: number[] = [];
  const batch: number[] = [];
  const text = (i: number) => `Remind me that the staging server restarts at ${i} past the hour on weekdays.`;
  await embedder.embed([text(0)]);
  for (let i = 0; i < 50; i++) {
    const t = performance.now();
    await embedder.embed([text(i)]);
    one.push(performance.now() - t);
  }
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    await embedder.embed(Array.from({ length: 32 }, (_, j) => text(i * 32 + j)));
    batch.push(performance.now() - t);
  }
  const rss = (process.memoryUsage().rss - before) / 1024 / 1024;
  await embedder.close();
  return [
    `| embedding (${model}, ${state.dimension}-d) | median | p99 |`,
    '|---|---|---|',
    `| one short text | ${quantile(one, 0.5).toFixed(1)} ms | ${quantile(one, 0.99).toFixed(1)} ms |`,
    `| a batch of 32 | ${quantile(batch, 0.5).toFixed(1)} ms | ${quantile(batch, 0.99).toFixed(1)} ms |`,
    `| embedder memory (RSS added by its worker thread) | ${rss.toFixed(0)} MB | |`,
  ];
}

if (process.argv[1]?.endsWith('memory.js')) {
  memoryBench().then((table) => console.log('\n' + table)).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
