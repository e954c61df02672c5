/**
 * Makes half-written Markdown displayable for an intermediate edit: closes an open code fence and
 * dangling inline markers (`**`, `` ` ``, `~~`), turns a link whose URL is still being written into
 * its text, and holds back a table until its separator line has arrived. The final edit always uses
 * the full text instead.
 */
import { fenceAfter } from './chunk.js';

export function repairPartial(text: string): string {
  const fence = fenceAfter(text, undefined);
  if (fence) return `${text.replace(/\n?$/, '\n')}${fence.marker}`;

  const lastBreak = text.lastIndexOf('\n\n');
  const head = lastBreak >= 0 ? text.slice(0, lastBreak + 2) : '';
  let tail = lastBreak >= 0 ? text.slice(lastBreak + 2) : text;

  tail = holdBackTable(tail);
  tail = tail.replace(/\[([^\]\n]*)\]\([^)\s]*$/, '$1'); // [text](https://half-a-u
  tail = tail.replace(/\[([^\]\n]*)$/, '$1'); // [half a link text
  tail = closeInline(tail);
  return head + tail;
}

/** A table is only a table once its `|---|` line exists; before that it would flash as raw pipes. */
function holdBackTable(tail: string): string {
  const lines = tail.split('\n');
  const first = lines.findIndex((l) => l.trimStart().startsWith('|'));
  if (first < 0) return tail;
  const separator = lines.slice(first).some((l) => /^\s*\|?\s*:?-{3,}/.test(l));
  return separator ? tail : lines.slice(0, first).join('\n').trimEnd();
}

function closeInline(tail: string): string {
  // Inline code first: markers inside it are literal.
  const ticks = countUnescaped(tail, '`');
  if (ticks % 2 === 1) return tail + '`';
  const outsideCode = tail.replace(/`[^`]*`/g, '');
  let closing = '';
  for (const marker of ['**', '~~', '__']) {
    if (countUnescaped(outsideCode, marker) % 2 === 1) closing = marker + closing;
  }
  if (!closing) return tail;
  // A marker right after trailing spaces does not close; trim them first.
  return tail.replace(/\s+$/, '') + closing;
}

function countUnescaped(text: string, marker: string): number {
  let count = 0;
  for (let i = 0; i <= text.length - marker.length; i++) {
    if (text[i - 1] === '\\') continue;
    if (text.startsWith(marker, i)) {
      count++;
      i += marker.length - 1;
    }
  }
  return count;
}
