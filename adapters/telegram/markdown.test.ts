import { describe, expect, it } from 'vitest';
import { toPlainText } from '../../src/reply/markdown.js';
import { statusLine, toTelegram } from './markdown.js';

const sample = [
  '## Title with <tag> & stuff',
  '',
  'Some **bold**, _italic_, ~~gone~~, `a < b && c`, and a [link](https://example.com/a_(b)).',
  '',
  '- one',
  '- two with `code`',
  '  1. nested',
  '',
  '```python',
  'if a < b and c > d: print("x & y")',
  '```',
  '',
  '> quoted *text*',
  '',
  '| a | b |',
  '|---|---|',
  '| 1 | 22 |',
  '',
  'Dots. Dashes - plus + equals = bang! (parens) {braces} #hash |pipe|',
].join('\n');

describe('toTelegram HTML', () => {
  const html = toTelegram(sample, 'HTML');

  it('converts formatting to tags and escapes only <, > and &', () => {
    expect(html).toContain('<b>Title with &lt;tag&gt; &amp; stuff</b>');
    expect(html).toContain('Some <b>bold</b>, <i>italic</i>, <s>gone</s>, <code>a &lt; b &amp;&amp; c</code>');
    expect(html).toContain('<a href="https://example.com/a_(b)">link</a>');
    expect(html).toContain('<pre><code class="language-python">if a &lt; b and c &gt; d: print("x &amp; y")</code></pre>');
    expect(html).toContain('<blockquote>quoted <i>text</i></blockquote>');
    expect(html).toContain('Dots. Dashes - plus + equals = bang! (parens) {braces} #hash |pipe|');
  });

  it('renders lists with bullets and numbers, and tables as preformatted text', () => {
    expect(html).toContain('• one\n• two with <code>code</code>\n   1. nested');
    expect(html).toContain('<pre>a | b\n--|---\n1 | 22</pre>');
  });

  it('never leaves a raw < or & outside a tag', () => {
    const text = html.replace(/<\/?(b|i|s|code|pre|blockquote|a)( [^>]*)?>/g, '');
    expect(text).not.toMatch(/<|&(?!amp;|lt;|gt;|quot;)/);
  });

  it('drops links with schemes Telegram cannot open', () => {
    expect(toTelegram('[x](javascript:alert(1))', 'HTML')).toBe('x');
  });
});

describe('toTelegram MarkdownV2', () => {
  const v2 = toTelegram(sample, 'MarkdownV2');

  it('escapes every special character in text', () => {
    expect(v2).toContain('Dots\\. Dashes \\- plus \\+ equals \\= bang\\! \\(parens\\) \\{braces\\} \\#hash \\|pipe\\|');
    expect(v2).toContain('*Title with <tag\\> & stuff*');
  });

  it('escapes code and URLs by their own rules', () => {
    expect(v2).toContain('`a < b && c`');
    expect(v2).toContain('[link](https://example.com/a_(b\\))');
    expect(v2).toContain('```python\nif a < b and c > d: print("x & y")\n```');
    expect(v2).toContain('*bold*, _italic_, ~gone~');
  });
});

describe('status line and plain text', () => {
  it('formats the tool status line', () => {
    expect(statusLine('running: a<b', 'HTML')).toBe('<i>⚙️ running: a&lt;b</i>');
    expect(statusLine('running: ls -la', 'MarkdownV2')).toBe('_⚙️ running: ls \\-la_');
  });

  it('plain text keeps the words and drops the markup', () => {
    expect(toPlainText('**a** [b](https://x.y) `c`')).toBe('a b (https://x.y) c');
  });
});
