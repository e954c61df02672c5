import { describe, expect, it } from 'vitest';
import { longMarkdown } from '../../test/support/anthropic-fake.js';
import { chunkMarkdown, fenceAfter } from './chunk.js';

/** Every chunk opens and closes its own code blocks. */
function balanced(chunk: string): boolean {
  return fenceAfter(chunk, undefined) === undefined;
}

/** Chunks glued back together, minus the fences the chunker added. */
function rejoin(chunks: string[]): string {
  return chunks
    .map((c, i) => {
      let s = c;
      if (i > 0) s = s.replace(/^(`{3,}|~{3,})[^\n]*\n/, (m) => (chunks[i - 1]!.trimEnd().endsWith(m.match(/^(`{3,}|~{3,})/)![1]!) ? '' : m));
      return s;
    })
    .join('\n');
}

describe('chunkMarkdown', () => {
  it('keeps a short answer whole', () => {
    expect(chunkMarkdown('hello **world**', 100)).toEqual(['hello **world**']);
  });

  it('splits on paragraph breaks before line breaks before spaces', () => {
    const text = 'a'.repeat(60) + '\n\n' + 'b'.repeat(30) + '\n' + 'c'.repeat(30);
    expect(chunkMarkdown(text, 100)).toEqual(['a'.repeat(60), 'b'.repeat(30) + '\n' + 'c'.repeat(30)]);
    const words = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    for (const chunk of chunkMarkdown(words, 50)) {
      expect(chunk.length).toBeLessThanOrEqual(50);
      expect(chunk).toMatch(/^word\d+( word\d+)*$/);
    }
  });

  it('closes a code block cut in two and reopens it with its language', () => {
    const code = Array.from({ length: 30 }, (_, i) => `line ${i} of the program`).join('\n');
    const text = 'Intro.\n\n```python\n' + code + '\n```\n\nOutro.';
    const chunks = chunkMarkdown(text, 200);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(200);
      expect(balanced(chunk)).toBe(true);
    }
    expect(chunks[1]!.startsWith('```python\n')).toBe(true);
    expect(chunks.join('\n')).toContain('line 29 of the program');
  });

  it('does not end a chunk with an empty code block', () => {
    const text = 'x'.repeat(80) + '\n```ts\n' + 'const a = 1;\n'.repeat(10) + '```';
    const chunks = chunkMarkdown(text, 100);
    expect(chunks[0]).toBe('x'.repeat(80));
    expect(chunks[1]!.startsWith('```ts\n')).toBe(true);
  });

  it('cuts an unbreakable run hard and keeps surrogate pairs whole', () => {
    const text = '😀'.repeat(100);
    const chunks = chunkMarkdown(text, 51);
    expect(chunks.join('')).toBe(text);
    for (const chunk of chunks) expect(chunk.length).toBeLessThanOrEqual(51);
  });

  it('splits a 10,000-character answer under Telegram, Discord and Slack limits', () => {
    const text = longMarkdown(10_000);
    for (const limit of [4000, 1900, 3000]) {
      const chunks = chunkMarkdown(text, limit);
      for (const chunk of chunks) {
        expect(chunk.length).toBeLessThanOrEqual(limit);
        expect(balanced(chunk)).toBe(true);
      }
      const words = (s: string) => s.replace(/```\w*/g, '').split(/\s+/).filter(Boolean);
      expect(words(rejoin(chunks))).toEqual(words(text));
    }
  });

  it('handles tilde fences and longer backtick fences', () => {
    const text = '~~~~\n' + 'x\n'.repeat(60) + '~~~~\n\n````md\n```inner```\n' + 'y\n'.repeat(60) + '````';
    for (const chunk of chunkMarkdown(text, 60)) {
      expect(chunk.length).toBeLessThanOrEqual(60);
      expect(balanced(chunk)).toBe(true);
    }
  });
});
