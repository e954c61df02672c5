/**
 * What a request looks like to a person on a phone: the command for Bash, the path and a short diff
 * for an edit, the URL for a fetch, the questions, the plan. Long inputs are shortened here; the
 * full input goes with the card for platforms that can show it one tap away.
 */
import type { ApprovalKind, Question } from './types.js';

export interface Described {
  /** One line: "run `npm test`", "edit src/a.ts". */
  summary: string;
  /** Markdown: a heading line, then the details. */
  markdown: string;
  /** The whole input, as pretty JSON (for "show all"). */
  full: string;
}

/** Marks text that `clip` shortened. */
const SHORTENED = '… (shortened)';

/** Whether a described request leaves part of its input out. */
export function isShortened(described: Described): boolean {
  return described.markdown.includes(SHORTENED);
}

const MAX_LINES = 30;
const MAX_CHARS = 1500;

export function describe(kind: ApprovalKind, tool: string, input: Record<string, unknown>, questions: Question[] = []): Described {
  const full = JSON.stringify(input, null, 2);
  const str = (key: string) => (typeof input[key] === 'string' ? (input[key] as string) : '');
  if (kind === 'question') {
    const lines = questions.map((q, i) => {
      const options = q.options.map((o, j) => `  ${j + 1}. **${o.label}**${o.description ? ` — ${o.description}` : ''}`).join('\n');
      return `${questions.length > 1 ? `${i + 1}. ` : ''}${q.header ? `**${q.header}:** ` : ''}${q.question}${q.multiSelect ? ' _(choose any)_' : ''}\n${options}`;
    });
    return { summary: `asks: ${oneLine(questions[0]?.question ?? '')}`, markdown: `❓ **Claude asks**\n\n${lines.join('\n\n')}`, full };
  }
  if (kind === 'plan') {
    return { summary: 'proposes a plan', markdown: `📋 **Claude proposes a plan**\n\n${clip(str('plan') || full)}`, full };
  }
  switch (tool) {
    case 'Bash': {
      const description = str('description');
      return {
        summary: `run ${oneLine(str('command'))}`,
        markdown: `🔐 **Claude wants to run a command**${description ? ` — ${description}` : ''}\n\n${fence(str('command'), 'sh')}`,
        full,
      };
    }
    case 'Edit':
      return {
        summary: `edit ${str('file_path')}`,
        markdown: `🔐 **Claude wants to edit** \`${str('file_path')}\`\n\n${fence(diff(str('old_string'), str('new_string')), 'diff')}`,
        full,
      };
    case 'MultiEdit': {
      const edits = Array.isArray(input.edits) ? (input.edits as { old_string?: string; new_string?: string }[]) : [];
      const text = edits.map((e) => diff(e.old_string ?? '', e.new_string ?? '')).join('\n…\n');
      return { summary: `edit ${str('file_path')}`, markdown: `🔐 **Claude wants to edit** \`${str('file_path')}\` (${edits.length} changes)\n\n${fence(text, 'diff')}`, full };
    }
    case 'Write':
      return {
        summary: `write ${str('file_path')}`,
        markdown: `🔐 **Claude wants to write** \`${str('file_path')}\`\n\n${fence(str('content'), '')}`,
        full,
      };
    case 'NotebookEdit':
      return { summary: `edit ${str('notebook_path')}`, markdown: `🔐 **Claude wants to edit the notebook** \`${str('notebook_path')}\`\n\n${fence(str('new_source'), '')}`, full };
    case 'WebFetch':
      return { summary: `fetch ${str('url')}`, markdown: `🔐 **Claude wants to fetch** ${str('url')}${str('prompt') ? `\n\n_${oneLine(str('prompt'))}_` : ''}`, full };
    case 'WebSearch':
      return { summary: `search the web for ${str('query')}`, markdown: `🔐 **Claude wants to search the web:** ${str('query')}`, full };
    default: {
      const name = tool.startsWith('mcp__') ? tool.split('__').slice(1).join('/') : tool;
      return { summary: `use ${name}`, markdown: `🔐 **Claude wants to use ${name}**\n\n${fence(full, 'json')}`, full };
    }
  }
}

/** A code block that holds any text: its fence is longer than any backtick run inside. */
function fence(text: string, lang: string): string {
  const body = clip(text);
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const marker = '`'.repeat(longest + 1);
  return `${marker}${lang}\n${body}\n${marker}`;
}

function clip(text: string): string {
  let lines = text.split('\n');
  let cut = false;
  if (lines.length > MAX_LINES) {
    lines = lines.slice(0, MAX_LINES);
    cut = true;
  }
  let out = lines.join('\n');
  if (out.length > MAX_CHARS) {
    out = out.slice(0, MAX_CHARS);
    cut = true;
  }
  return cut ? `${out}\n${SHORTENED}` : out;
}

function diff(before: string, after: string): string {
  const minus = before ? before.split('\n').map((l) => `- ${l}`) : [];
  const plus = after ? after.split('\n').map((l) => `+ ${l}`) : [];
  return [...minus, ...plus].join('\n');
}

function oneLine(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? one.slice(0, 79) + '…' : one;
}
