import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

describe('Pacer', () => {
  it('runs work at once while the turn has budget, and returns its value', async () => {
    const pacer = new Pacer(50);
    let ran = false;
    const result = pacer.run(() => {
      ran = true;
      return 42;
    });
    expect(ran).toBe(true);
    expect(await result).toBe(42);
  });

  it('past the budget, runs the rest in later turns, in arrival order, with timers between them', async () => {
    const pacer = new Pacer(5);
    const order: number[] = [];
    let timerFiredAfter = -1;
    setTimeout(() => (timerFiredAfter = order.length), 0);
    const all = Array.from({ length: 20 }, (_, i) => pacer.run(() => {
      order.push(i);
      busy(2);
      return i;
    }));
    // Only what fit in the budget ran in this turn.
    expect(order.length).toBeLessThan(20);
    expect(await Promise.all(all)).toEqual(order);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(timerFiredAfter).toBeGreaterThan(0);
    expect(timerFiredAfter).toBeLessThan(20);
  });

  it('passes a thrown error to the caller, and goes on with the rest', async () => {
    const pacer = new Pacer(0);
    const failed = pacer.run(() => {
      throw new Error('boom');
    });
    const next = pacer.run(() => 'next');
    await expect(failed).rejects.toThrow('boom');
    expect(await next).toBe('next');
  });
});
