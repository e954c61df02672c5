/**
 * Claude's Markdown for Discord, through the AST. Discord's Markdown is close to Claude's; what
 * changes: tables (Discord has none) become code blocks, headings stop at ###, and literal
 * markdown characters in text stay literal. Mentions are not touched here: the adapter sends every
 * message with allowed_mentions = none, so `@everyone` in an answer pings nobody.
 */
import { parseMarkdown, renderWith, type MarkupRules } from '../../src/reply/markdown.js';

const escape = (text: string) => text.replace(/[\\*_~`|]/g, '\\$&').replace(/^([#>-])/gm, '\\$1');

const DISCORD: MarkupRules = {
  escape,
  strong: (i) => `**${i}**`,
  emphasis: (i) => `*${i}*`,
  strike: (i) => `~~${i}~~`,
  inlineCode: (c) => (c.includes('`') ? `\`\` ${c} \`\`` : `\`${c}\``),
  link: (text, url) => (/^(https?|mailto):/i.test(url) ? `[${text}](<${url}>)` : text),
  codeBlock: (code, lang) => `\`\`\`${lang.split(/\s/)[0] ?? ''}\n${code.replace(/```/g, '`\u200b``')}\n\`\`\``,
  heading: (i, depth) => `${'#'.repeat(Math.min(depth, 3))} ${i}`,
  quote: (i) => i.split('\n').map((l) => `> ${l}`).join('\n'),
  table: (t) => `\`\`\`\n${t}\n\`\`\``,
  rule: '———',
};

export function toDiscord(markdown: string): string {
  return renderWith(parseMarkdown(markdown), DISCORD);
}
