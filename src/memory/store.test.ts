import { describe, expect, it } from 'vitest';
import { openDb } from '../store/db.js';
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

function store(): MemoryStore {
  return new MemoryStore(openDb(':memory:'), 'test-model', DIM);
}

const memory = (scope: string, text: string, conversationId = 'c1') => ({ scope, text, source: 'explicit' as const, conversationId, userKey: 'u1' });

describe('MemoryStore', () => {
  it('finds the closest memories of a scope, best first, above a threshold', () => {
    const s = store();
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

  it('merges a near-duplicate instead of storing it twice', () => {
    const s = store();
    const v = unit(Array.from({ length: DIM }, rng(2)));
    const first = s.add(memory('scope:a', 'my colour is teal'), v, 0.95);
    const again = s.add(memory('scope:a', 'my favourite colour is teal'), unit([...v].map((x, i) => x + (i === 0 ? 0.01 : 0))), 0.95);
    expect(again).toEqual({ id: first.id, merged: true });
    expect(s.recent('scope:a').map((m) => m.text)).toEqual(['my favourite colour is teal']);
  });

  it('deletes rows and vectors, one by id (in scope only) or a whole conversation', () => {
    const s = store();
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

  it('finds nearly what an exact search finds in a large scope (coarse bits, exact re-rank)', () => {
    const s = store();
    const r = rng(4);
    const centers = Array.from({ length: 50 }, () => unit(Array.from({ length: DIM }, r)));
    for (let i = 0; i < 3000; i++) {
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

  it('refuses vectors of the wrong dimension', () => {
    expect(() => store().add(memory('s', 't'), new Float32Array(10), 0.9)).toThrow(/has 10 dimensions, the model test-model makes 64/);
  });
});
