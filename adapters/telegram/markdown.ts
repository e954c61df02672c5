/**
 * Claude's Markdown to Telegram's markup, through the AST: HTML (only `<`, `>`, `&` to escape) or
 * MarkdownV2 (18 characters to escape, differently inside code and link URLs).
 */
import { parseMarkdown, renderWith, type MarkupRules } from '../../src/reply/markdown.js';

export type ParseMode = 'HTML' | 'MarkdownV2';

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const escapeAttribute = (text: string) => escapeHtml(text).replace(/"/g, '&quot;');

const HTML: MarkupRules = {
  escape: escapeHtml,
  strong: (i) => `<b>${i}</b>`,
  emphasis: (i) => `<i>${i}</i>`,
  strike: (i) => `<s>${i}</s>`,
  inlineCode: (c) => `<code>${escapeHtml(c)}</code>`,
  link: (text, url) => (safeUrl(url) ? `<a href="${escapeAttribute(url)}">${text}</a>` : text),
  codeBlock: (code, lang) => `<pre><code${lang ? ` class="language-${escapeAttribute(lang.split(/\s/)[0]!)}"` : ''}>${escapeHtml(code)}</code></pre>`,
  heading: (i) => `<b>${i}</b>`,
  quote: (i) => `<blockquote>${i}</blockquote>`,
  table: (t) => `<pre>${escapeHtml(t)}</pre>`,
  rule: '———',
};

const escapeV2 = (text: string) => text.replace(/[_*[\]()~`>#+\-=|{}.!\\]/g, '\\$&');
const escapeV2Code = (text: string) => text.replace(/[`\\]/g, '\\$&');
const escapeV2Url = (text: string) => text.replace(/[)\\]/g, '\\$&');

const MARKDOWN_V2: MarkupRules = {
  escape: escapeV2,
  strong: (i) => `*${i}*`,
  emphasis: (i) => `_${i}_`,
  strike: (i) => `~${i}~`,
  inlineCode: (c) => `\`${escapeV2Code(c)}\``,
  link: (text, url) => (safeUrl(url) ? `[${text}](${escapeV2Url(url)})` : text),
  codeBlock: (code, lang) => `\`\`\`${lang.split(/\s/)[0]!.replace(/[^\w+-]/g, '')}\n${escapeV2Code(code)}\n\`\`\``,
  heading: (i) => `*${i}*`,
  quote: (i) => i.split('\n').map((l) => `>${l}`).join('\n'),
  table: (t) => `\`\`\`\n${escapeV2Code(t)}\n\`\`\``,
  rule: escapeV2('———'),
};

/** Telegram rejects links it cannot open; keep those as text. */
function safeUrl(url: string): boolean {
  return /^(https?|tg|mailto):/i.test(url);
}

export function toTelegram(markdown: string, mode: ParseMode): string {
  return renderWith(parseMarkdown(markdown), mode === 'HTML' ? HTML : MARKDOWN_V2);
}

/** The tool-activity line under a streaming answer. */
export function statusLine(status: string, mode: ParseMode): string {
  return mode === 'HTML' ? `<i>⚙️ ${escapeHtml(status)}</i>` : `_⚙️ ${escapeV2(status)}_`;
}
