import { describe, expect, it } from 'vitest';
import { repairPartial } from './partial.js';

describe('repairPartial', () => {
  it('closes an open code fence', () => {
    expect(repairPartial('Here:\n```ts\nconst a = 1;')).toBe('Here:\n```ts\nconst a = 1;\n```');
  });

  it('closes dangling bold, strike and inline code', () => {
    expect(repairPartial('this is **very imp')).toBe('this is **very imp**');
    expect(repairPartial('use `npm te')).toBe('use `npm te`');
    expect(repairPartial('a ~~gone')).toBe('a ~~gone~~');
    expect(repairPartial('done **bold** and `code`')).toBe('done **bold** and `code`');
  });

  it('leaves markers inside inline code alone', () => {
    expect(repairPartial('run `a ** b` now')).toBe('run `a ** b` now');
  });

  it('shows a half-written link as its text', () => {
    expect(repairPartial('see [the docs](https://exa')).toBe('see the docs');
    expect(repairPartial('see [the do')).toBe('see the do');
  });

  it('holds back a table until its separator arrives', () => {
    expect(repairPartial('Results:\n\n| a | b |')).toBe('Results:\n\n');
    expect(repairPartial('Results:\n\n| a | b |\n|---|---|\n| 1 |')).toBe('Results:\n\n| a | b |\n|---|---|\n| 1 |');
  });

  it('only repairs the last paragraph', () => {
    expect(repairPartial('**a** b\n\nc **d')).toBe('**a** b\n\nc **d**');
  });
});
