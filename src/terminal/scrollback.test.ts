import { describe, expect, it } from 'vitest';
import { SessionHolds } from './holds.js';
import { Scrollback } from './scrollback.js';

describe('a tab\'s scrollback', () => {
  it('keeps exactly the most recent output up to its size', () => {
    const buffer = new Scrollback(10);
    buffer.append('abcd');
    buffer.append('efgh');
    expect(buffer.text()).toBe('abcdefgh');
    buffer.append('ijkl');
    expect(buffer.text()).toBe('cdefghijkl');
    buffer.append('0123456789XYZ');
    expect(buffer.text()).toBe('3456789XYZ');
  });
});

describe('session holds', () => {
  it('one holder at a time; giving back wakes whoever waits', async () => {
    const holds = new SessionHolds();
    expect(holds.take('c', 'A Claude terminal tab')).toBe(true);
    expect(holds.take('c', 'another')).toBe(false);
    expect(holds.holder('c')).toBe('A Claude terminal tab');
    const waited = holds.released('c', 10_000);
    holds.give('c');
    await waited;
    expect(holds.holder('c')).toBeUndefined();
  });
});
