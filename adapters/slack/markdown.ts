/**
 * Claude's Markdown to Slack mrkdwn, through the AST: `*bold*`, `_italic_`, `~strike~`, `<url|text>`,
 * fenced code without a language (Slack shows none), and only `&`, `<`, `>` escaped. A message is
 * one or more section blocks of at most 3,000 characters each, cut without breaking a code block.
 */
import { chunkMarkdown } from '../../src/reply/chunk.js';
import { parseMarkdown, renderWith, toPlainText, type MarkupRules } from '../../src/reply/markdown.js';

/** Slack's limit for the text of one section block. */
export const SECTION_LIMIT = 3000;

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const MRKDWN: MarkupRules = {
  escape,
  strong: (i) => `*${i}*`,
  emphasis: (i) => `_${i}_`,
  strike: (i) => `~${i}~`,
  inlineCode: (c) => `\`${escape(c)}\``,
  link: (text, url) => (/^(https?|mailto):/i.test(url) ? `<${url.replace(/[|>]/g, encodeURIComponent)}|${text.replace(/[|>]/g, '')}>` : text),
  codeBlock: (code) => `\`\`\`\n${escape(code)}\n\`\`\``,
  heading: (i) => `*${i}*`,
  quote: (i) => i.split('\n').map((l) => `> ${l}`).join('\n'),
  table: (t) => `\`\`\`\n${escape(t)}\n\`\`\``,
  rule: '———',
};

export function toMrkdwn(markdown: string): string {
  return renderWith(parseMarkdown(markdown), MRKDWN);
}

export interface SlackMessage {
  /** The notification and fallback text. */
  text: string;
  blocks: { type: 'section'; text: { type: 'mrkdwn'; text: string } }[];
}

/** A Slack message for a chunk of Claude's Markdown, with an optional status line under it. */
export function slackMessage(markdown: string, status?: string): SlackMessage {
  const body = markdown ? toMrkdwn(markdown) : '';
  const line = status ? `_⚙️ ${escape(status)}_` : '';
  const full = [body, line].filter(Boolean).join('\n\n') || '…';
  const sections = full.length <= SECTION_LIMIT ? [full] : chunkMarkdown(full, SECTION_LIMIT);
  const plain = [markdown ? toPlainText(markdown) : '', status ? `⚙️ ${status}` : ''].filter(Boolean).join('\n\n') || '…';
  return {
    text: plain.length > SECTION_LIMIT ? plain.slice(0, SECTION_LIMIT - 1) + '…' : plain,
    blocks: sections.map((text) => ({ type: 'section', text: { type: 'mrkdwn', text } })),
  };
}
