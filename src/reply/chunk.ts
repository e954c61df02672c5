/**
 * Splits an answer into messages that fit a platform's limit: on a paragraph break if one is near
 * the limit, else a line break, else a space, else anywhere. A code block cut in two is closed at
 * the end of one chunk and opened again, with its language, at the start of the next, so every
 * chunk is valid Markdown on its own.
 */

export interface Fence {
  /** The fence characters as opened, e.g. "```" or "~~~~". */
  marker: string;
  /** The info string (language), e.g. "ts". */
  info: string;
}

const FENCE_LINE = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** The fence still open after `text`, starting from `open`. */
export function fenceAfter(text: string, open: Fence | undefined): Fence | undefined {
  let fence = open;
  for (const line of text.split('\n')) {
    const m = FENCE_LINE.exec(line);
    if (!m) continue;
    const marker = m[1]!;
    const rest = m[2]!;
    if (!fence) {
      // A backtick fence's info string may not contain backticks (that is inline code).
      if (marker[0] === '`' && rest.includes('`')) continue;
      fence = { marker, info: rest.trim() };
    } else if (marker[0] === fence.marker[0] && marker.length >= fence.marker.length && rest.trim() === '') {
      fence = undefined;
    }
  }
  return fence;
}

/** Splits `text` into chunks of at most `limit` characters. */
export function chunkMarkdown(text: string, limit: number): string[] {
  if (limit < 40) throw new Error(`chunk limit too small: ${limit}`);
  const chunks: string[] = [];
  let rest = text.trim();
  let open: Fence | undefined;
  while (rest) {
    const opener = open ? `${open.marker}${open.info}\n` : '';
    if (opener.length + rest.length <= limit) {
      chunks.push(opener + rest);
      break;
    }
    // Room for the fence that may have to be closed at the end of this chunk.
    const closerRoom = 1 + Math.max(open?.marker.length ?? 0, longestFenceMarker(rest.slice(0, limit)));
    const budget = limit - opener.length - closerRoom;
    let cut = findCut(rest, budget);
    let piece = rest.slice(0, cut);
    let after = fenceAfter(piece, open);
    if (after && after !== open && isOnlyOpener(piece, open)) {
      // The chunk would end right after opening a code block: start the block in the next chunk instead.
      const lineStart = piece.lastIndexOf('\n', piece.trimEnd().length - 1) + 1;
      if (lineStart > 0) {
        cut = lineStart;
        piece = rest.slice(0, cut);
        after = fenceAfter(piece, open);
      }
    }
    const body = after ? piece.replace(/\s+$/, '') : piece.trimEnd();
    chunks.push(opener + body + (after ? `\n${after.marker}` : ''));
    rest = after ? rest.slice(cut).replace(/^\n/, '') : rest.slice(cut).replace(/^\s+/, '');
    open = after;
  }
  return chunks;
}

function longestFenceMarker(text: string): number {
  let longest = 3;
  for (const m of text.matchAll(/^ {0,3}(`{3,}|~{3,})/gm)) longest = Math.max(longest, m[1]!.length);
  return longest;
}

/** True when the fence open at the end of `piece` was opened by its last non-empty line. */
function isOnlyOpener(piece: string, open: Fence | undefined): boolean {
  const lines = piece.trimEnd().split('\n');
  const last = lines.at(-1) ?? '';
  return FENCE_LINE.test(last) && fenceAfter(lines.slice(0, -1).join('\n'), open) === open;
}

/** Where to end a chunk of at most `budget` characters, preferring natural boundaries. */
function findCut(text: string, budget: number): number {
  const window = text.slice(0, budget + 1);
  const floor = Math.floor(budget * 0.5);
  const paragraph = window.lastIndexOf('\n\n');
  if (paragraph >= floor) return paragraph + 1;
  const line = window.lastIndexOf('\n');
  if (line >= floor) return line + 1;
  const space = window.lastIndexOf(' ');
  if (space >= floor) return space + 1;
  // No boundary: cut hard, but not between the two halves of a surrogate pair.
  const code = text.charCodeAt(budget - 1);
  return code >= 0xd800 && code <= 0xdbff ? budget - 1 : budget;
}
