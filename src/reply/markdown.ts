/**
 * Claude's Markdown as an AST (mdast, with GitHub's tables and strikethrough), for the adapters to
 * render into their platform's markup. Rendering from a tree, with every text node escaped for the
 * target, is what keeps a stray `<`, `*` or `_` from breaking a platform's parser.
 */
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import type { Nodes, Root, RootContent } from 'mdast';

export type { Nodes, Root, RootContent };

export function parseMarkdown(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

/** The text of a node with all markup dropped. */
export function textOf(node: Nodes): string {
  if ('value' in node && typeof node.value === 'string') return node.value;
  if ('children' in node) return (node.children as Nodes[]).map(textOf).join('');
  return '';
}

/**
 * Renders a tree with per-node-type functions; blocks are joined by blank lines. Adapters supply
 * the inline and block pieces for their markup; lists, tables and nesting are handled here once.
 */
export interface MarkupRules {
  escape(text: string): string;
  strong(inner: string): string;
  emphasis(inner: string): string;
  strike(inner: string): string;
  inlineCode(code: string): string;
  link(text: string, url: string): string;
  codeBlock(code: string, lang: string): string;
  heading(inner: string, depth: number): string;
  quote(inner: string): string;
  /** A table, already laid out as aligned monospace text. */
  table(text: string): string;
  rule: string;
}

export function renderWith(root: Root, rules: MarkupRules): string {
  return blocks(root.children, rules).trim();
}

function blocks(nodes: RootContent[], rules: MarkupRules): string {
  return nodes.map((n) => block(n, rules)).filter((s) => s !== '').join('\n\n');
}

function block(node: RootContent, rules: MarkupRules): string {
  switch (node.type) {
    case 'paragraph':
      return inline(node.children, rules);
    case 'heading':
      return rules.heading(inline(node.children, rules), node.depth);
    case 'code':
      return rules.codeBlock(node.value, node.lang ?? '');
    case 'blockquote':
      return rules.quote(blocks(node.children, rules));
    case 'list':
      return list(node, rules, 0);
    case 'thematicBreak':
      return rules.rule;
    case 'table':
      return rules.table(layoutTable(node.children.map((row) => row.children.map((cell) => textOf(cell)))));
    case 'html':
      return rules.escape(node.value);
    case 'definition':
    case 'footnoteDefinition':
      return '';
    default:
      return 'children' in node ? inline(node.children as RootContent[], rules) : rules.escape(textOf(node as Nodes));
  }
}

function list(node: Extract<RootContent, { type: 'list' }>, rules: MarkupRules, depth: number): string {
  const indent = '   '.repeat(depth);
  return node.children.map((item, i) => {
    const bullet = node.ordered ? `${(node.start ?? 1) + i}.` : item.checked === true ? '☑' : item.checked === false ? '☐' : '•';
    const parts = item.children.map((child) => (child.type === 'list' ? list(child, rules, depth + 1) : block(child, rules)));
    const [first = '', ...rest] = parts;
    return [`${indent}${bullet} ${first}`, ...rest.map((r) => (r.startsWith(indent + '   ') ? r : `${indent}   ${r}`))].join('\n');
  }).join('\n');
}

function inline(nodes: RootContent[], rules: MarkupRules): string {
  return nodes.map((node) => {
    switch (node.type) {
      case 'text':
        return rules.escape(node.value);
      case 'strong':
        return rules.strong(inline(node.children, rules));
      case 'emphasis':
        return rules.emphasis(inline(node.children, rules));
      case 'delete':
        return rules.strike(inline(node.children, rules));
      case 'inlineCode':
        return rules.inlineCode(node.value);
      case 'link':
        return rules.link(inline(node.children, rules) || rules.escape(node.url), node.url);
      case 'image':
        return rules.link(rules.escape(node.alt || node.url), node.url);
      case 'break':
        return '\n';
      case 'html':
        return rules.escape(node.value);
      default:
        return 'children' in node ? inline(node.children as RootContent[], rules) : rules.escape(textOf(node as Nodes));
    }
  }).join('');
}

/** Lays out table cells as aligned columns with a rule under the header. */
export function layoutTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const line = (row: string[]) => row.map((cell, i) => cell + ' '.repeat(widths[i]! - [...cell].length)).join(' | ').trimEnd();
  const [header, ...body] = rows;
  if (!header) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

/** Plain text: markup dropped, links as "text (url)", code kept as is. The fallback of every platform. */
export function toPlainText(markdown: string): string {
  return renderWith(parseMarkdown(markdown), {
    escape: (t) => t,
    strong: (i) => i,
    emphasis: (i) => i,
    strike: (i) => i,
    inlineCode: (c) => c,
    link: (text, url) => (text === url ? url : `${text} (${url})`),
    codeBlock: (code) => code,
    heading: (i) => i,
    quote: (i) => i.split('\n').map((l) => `> ${l}`).join('\n'),
    table: (t) => t,
    rule: '———',
  });
}
