import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Store } from '../store/index.js';
import { PostgresServer } from '../../test/support/postgres.js';
import { MemoryStore } from './store.js';

const DIM = 64;

function unit(values: number[]): Float32Array {
  const v = Float32Array.from(values);
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

/** A random direction, then points scattered around it: the shape real embeddings have. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
}

const memory = (scope: string, text: string, conversationId = 'c1') => ({ scope, text, source: 'explicit' as const, conversationId, userKey: 'u1' });

/**
 * Each database: SQLite (with sqlite-vec), and PostgreSQL (plain columns, scored in-process). The
 * large scope is smaller on PostgreSQL (each add is a few round trips), still past the size where
 * its exact scan gives way to the two steps (400 there, 2,500 on SQLite).
 */
describe.each([
  { driver: 'sqlite' as const, big: 3000 },
  { driver: 'postgres' as const, big: 600 },
])('MemoryStore on $driver', ({ driver, big }) => {
  let server: PostgresServer | undefined;
  const open: Store[] = [];

  beforeAll(async () => {
    if (driver === 'postgres') server = await PostgresServer.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });
  afterEach(() => {
    for (const s of open.splice(0)) s.close();
  });

  /** A new, empty database for each test. */
  async function store(): Promise<MemoryStore> {
    const s = driver === 'sqlite' ? Store.open(':memory:') : Store.open({ driver, url: await server!.createDatabase(), path: '' });
    open.push(s);
    return new MemoryStore(s.db, 'test-model', DIM);
  }

  it('finds the closest memories of a scope, best first, above a threshold', async () => {
    const s = await store();
    const r = rng(1);
    const base = unit(Array.from({ length: DIM }, r));
    const near = unit([...base].map((x) => x + r() * 0.05));
    const far = unit(Array.from({ length: DIM }, r));
    const a = s.add(memory('scope:a', 'near'), near, 0.99).id;
    s.add(memory('scope:a', 'far'), far, 0.99);
    s.add(memory('scope:b', 'other scope'), base, 0.99);
    const found = s.search('scope:a', base, 5, -1);
    expect(found.map((f) => f.text)).toEqual(['near', 'far']);
    expect(found[0]!.id).toBe(a);
    expect(found[0]!.score).toBeGreaterThan(0.9);
    expect(s.search('scope:a', base, 5, 0.5).map((f) => f.text)).toEqual(['near']);
  });

  it('merges a near-duplicate instead of storing it twice', async () => {
    const s = await store();
    const v = unit(Array.from({ length: DIM }, rng(2)));
    const first = s.add(memory('scope:a', 'my colour is teal'), v, 0.95);
    const again = s.add(memory('scope:a', 'my favourite colour is teal'), unit([...v].map((x, i) => x + (i === 0 ? 0.01 : 0))), 0.95);
    expect(again).toEqual({ id: first.id, merged: true });
    expect(s.recent('scope:a').map((m) => m.text)).toEqual(['my favourite colour is teal']);
  });

  it('deletes rows and vectors, one by id (in scope only) or a whole conversation', async () => {
    const s = await store();
    const r = rng(3);
    const one = s.add(memory('scope:a', 'one', 'c1'), unit(Array.from({ length: DIM }, r)), 0.99).id;
    s.add(memory('scope:a', 'two', 'c1'), unit(Array.from({ length: DIM }, r)), 0.99);
    s.add(memory('scope:a', 'three', 'c2'), unit(Array.from({ length: DIM }, r)), 0.99);
    expect(s.remove(one, ['scope:other'])).toBe(false);
    expect(s.remove(one, ['scope:a'])).toBe(true);
    expect(s.removeConversation('c1')).toBe(1);
    expect(s.recent('scope:a').map((m) => m.text)).toEqual(['three']);
    expect(s.search('scope:a', unit(Array.from({ length: DIM }, r)), 10, -1).map((m) => m.text)).toEqual(['three']);
  });

  it('finds nearly what an exact search finds in a large scope (coarse bits, exact re-rank)', async () => {
    const s = await store();
    const r = rng(4);
    const centers = Array.from({ length: 50 }, () => unit(Array.from({ length: DIM }, r)));
    for (let i = 0; i < big; i++) {
      const c = centers[i % centers.length]!;
      s.add(memory('scope:big', `m${i}`), unit([...c].map((x) => x + r() * 0.15)), 1.01);
    }
    let hits = 0;
    for (let q = 0; q < 20; q++) {
      const query = unit([...centers[q]!].map((x) => x + r() * 0.15));
      const exact = new Set(s.searchExact('scope:big', query, 10).map((m) => m.id));
      hits += s.search('scope:big', query, 10).filter((m) => exact.has(m.id)).length;
    }
    expect(hits / 200).toBeGreaterThanOrEqual(0.95);
  });

  it.runIf(driver === 'postgres')('merges and finds what SQLite (sqlite-vec) does', async () => {
    const pg = await store();
    const sqlite = Store.open(':memory:');
    open.push(sqlite);
    const lite = new MemoryStore(sqlite.db, 'test-model', DIM);
    const r = rng(5);
    const centers = Array.from({ length: 20 }, () => unit(Array.from({ length: DIM }, r)));
    const added: Float32Array[] = [];
    let merged = 0;
    for (let i = 0; i < 200; i++) {
      // Around a topic; the last 50 close to an earlier memory, to merge into it (the same one on both).
      const v = i < 150 ? unit([...centers[i % centers.length]!].map((x) => x + r() * 0.08)) : unit([...added[i - 150]!].map((x) => x + r() * 0.01));
      added.push(v);
      const m = memory(`scope:${i % 2}`, `m${i}`);
      const result = pg.add(m, v, 0.97, i);
      expect(result).toEqual(lite.add(m, v, 0.97, i));
      if (result.merged) merged++;
    }
    expect(merged).toBeGreaterThanOrEqual(40);
    for (let q = 0; q < 10; q++) {
      const query = unit([...centers[q]!].map((x) => x + r() * 0.08));
      for (const scope of ['scope:0', 'scope:1']) {
        const want = lite.search(scope, query, 5, 0.5);
        const got = pg.search(scope, query, 5, 0.5);
        expect(got.map((m) => [m.id, m.text, m.hits])).toEqual(want.map((m) => [m.id, m.text, m.hits]));
        got.forEach((m, i) => expect(m.score).toBeCloseTo(want[i]!.score, 5));
      }
    }
  });

  it('refuses vectors of the wrong dimension', async () => {
    const s = await store();
    expect(() => s.add(memory('s', 't'), new Float32Array(10), 0.9)).toThrow(/has 10 dimensions, the model test-model makes 64/);
  });
});
