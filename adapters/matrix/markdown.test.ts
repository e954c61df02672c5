import { describe, expect, it } from 'vitest';
import { toMatrixHtml } from './markdown.js';

describe('Markdown as Matrix HTML', () => {
  it('renders inline markup as HTML and escapes what could be read as tags', () => {
    expect(toMatrixHtml('**bold** _it_ ~~gone~~ `a<b>` <script> & [site](https://example.com)')).toBe(
      '<strong>bold</strong> <em>it</em> <del>gone</del> <code>a&lt;b&gt;</code> &lt;script&gt; &amp; <a href="https://example.com">site</a>',
    );
  });

  it('keeps a code block\'s newlines and turns the others into <br>', () => {
    expect(toMatrixHtml('one\ntwo\n\n```ts\nconst a = 1;\nconst b = 2;\n```')).toBe(
      'one<br>two<br><pre><code class="language-ts">const a = 1;\nconst b = 2;</code></pre>',
    );
  });

  it('drops links a client should not open', () => {
    expect(toMatrixHtml('[click](javascript:alert(1))')).toBe('click');
  });
});
