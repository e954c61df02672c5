/**
 * Claude's Markdown as Matrix HTML (`org.matrix.custom.html`), through the AST. Clients render a
 * subset of HTML and do not turn newlines into breaks outside <pre>, so line breaks become <br>.
 * The plain `body` of each message stays the Markdown itself: what clients without HTML show.
 */
import { parseMarkdown, renderWith, type MarkupRules } from '../../src/reply/markdown.js';

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const quoted = (text: string) => escapeHtml(text).replace(/"/g, '&quot;');
/** Marks the newlines that belong to code, so they survive the <br> pass. */
const KEEP = '\u0000';

const RULES: MarkupRules = {
  escape: escapeHtml,
  strong: (inner) => `<strong>${inner}</strong>`,
  emphasis: (inner) => `<em>${inner}</em>`,
  strike: (inner) => `<del>${inner}</del>`,
  inlineCode: (code) => `<code>${escapeHtml(code)}</code>`,
  link: (text, url) => (/^(https?|mailto|matrix):/i.test(url) ? `<a href="${quoted(url)}">${text}</a>` : text),
  codeBlock: (code, lang) => preformatted(code, lang.split(/\s/)[0] ?? ''),
  heading: (inner, depth) => `<h${Math.min(depth + 2, 6)}>${inner}</h${Math.min(depth + 2, 6)}>`,
  quote: (inner) => `<blockquote>${inner}</blockquote>`,
  table: (text) => preformatted(text, ''),
  rule: '<hr>',
};

function preformatted(code: string, lang: string): string {
  const language = lang ? ` class="language-${quoted(lang)}"` : '';
  return `<pre><code${language}>${escapeHtml(code).replace(/\n/g, KEEP)}</code></pre>`;
}

export function toMatrixHtml(markdown: string): string {
  return renderWith(parseMarkdown(markdown), RULES)
    .replace(/\n/g, '<br>')
    .replace(/<br>(<(?:h\d|pre|blockquote|hr)\b)/g, '$1')
    .replace(new RegExp(KEEP, 'g'), '\n');
}

/** The tool-activity line under a streaming answer. */
export function statusHtml(status: string): string {
  return `<em>⚙️ ${escapeHtml(status)}</em>`;
}
