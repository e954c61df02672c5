import { describe, expect, it } from 'vitest';
import { toDiscord } from './markdown.js';

describe('toDiscord', () => {
  it('keeps Discord-compatible Markdown and turns tables into code blocks', () => {
    const md = '# Title\n\n**b** *i* ~~s~~ `c` [l](https://x.y)\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```js\nx()\n```';
    expect(toDiscord(md)).toBe('# Title\n\n**b** *i* ~~s~~ `c` [l](<https://x.y>)\n\n```\na | b\n--|--\n1 | 2\n```\n\n```js\nx()\n```');
  });

  it('keeps literal markdown characters literal', () => {
    expect(toDiscord('2 \\* 3 and snake\\_case')).toBe('2 \\* 3 and snake\\_case');
  });

  it('drops links Discord should not follow', () => {
    expect(toDiscord('[x](javascript:alert(1))')).toBe('x');
  });
});
