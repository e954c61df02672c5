/**
 * What an answer changed in its workspace: a snapshot of the folder before the turn, compared with the
 * folder after it, gives each file added, modified or deleted, with a unified diff of text files.
 *
 * Bounded, so a big workspace costs a turn little: `.git` and `node_modules` are skipped, at most
 * `MAX_FILES` files are looked at, and only text files under `MAX_TEXT_BYTES` (up to `MAX_KEPT_BYTES`
 * in all) are kept for diffing; other files are compared by hash, and files too large to read (or
 * past `MAX_READ_BYTES` read in all) by size and modification time.
 * Symbolic links are compared by their target and never followed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';

export const SKIPPED_FOLDERS = new Set(['.git', 'node_modules']);
export const MAX_FILES = 5000;
/** Larger text files are compared by hash only (no diff). */
export const MAX_TEXT_BYTES = 256 * 1024;
/** Text kept for diffing across the whole snapshot. */
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
/** Larger files, and files past this much read in all, are compared by size and modification time only. */
const MAX_HASHED_BYTES = 16 * 1024 * 1024;
const MAX_READ_BYTES = 128 * 1024 * 1024;
/** A longer diff is cut (the file can still be opened whole). */
export const MAX_DIFF_CHARS = 128 * 1024;

/** One file an answer changed. */
export interface FileChange {
  /** Relative to the workspace, with "/" separators. */
  path: string;
  change: 'added' | 'modified' | 'deleted';
  /** Unified diff; null when there is none to show (`note` says why). */
  diff: string | null;
  /** Why there is no diff, or that it was cut, for people. */
  note?: string;
}

interface Entry {
  size: number;
  mtimeMs: number;
  /** Content hash, or a link's target; undefined for files too large to hash. */
  hash?: string;
  /** Kept for diffing: a text file under the limits. */
  text?: string;
  binary?: boolean;
}

export interface Snapshot {
  root: string;
  files: Map<string, Entry>;
  /** The walk stopped at MAX_FILES: changes past that point are not seen. */
  truncated: boolean;
}

/** The workspace as it is now (an empty snapshot if the folder does not exist yet). */
export async function snapshotWorkspace(root: string): Promise<Snapshot> {
  const snapshot: Snapshot = { root, files: new Map(), truncated: false };
  const budget = { kept: 0, read: 0 };
  await walk(root, '', async (rel, stat) => {
    if (snapshot.files.size >= MAX_FILES) {
      snapshot.truncated = true;
      return false;
    }
    snapshot.files.set(rel, await entryOf(path.join(root, rel), stat, budget));
    return true;
  });
  return snapshot;
}

/** What changed in the snapshot's folder since it was taken, sorted by path. Never throws: a failure costs the list. */
export async function changesSince(before: Snapshot): Promise<FileChange[]> {
  try {
    return await compare(before);
  } catch {
    return [];
  }
}

async function compare(before: Snapshot): Promise<FileChange[]> {
  const changes: FileChange[] = [];
  const seen = new Set<string>();
  const budget = { kept: 0, read: 0 };
  let count = 0;
  await walk(before.root, '', async (rel, stat) => {
    if (++count > MAX_FILES) return false;
    seen.add(rel);
    const old = before.files.get(rel);
    // Unchanged size and time: the same file, without reading it.
    if (old && old.size === stat.size && old.mtimeMs === stat.mtimeMs) return true;
    if (!old && before.truncated) return true; // maybe just past where the first walk stopped
    const now = await entryOf(path.join(before.root, rel), stat, budget, true);
    if (old && old.hash !== undefined && old.hash === now.hash) return true;
    changes.push(changeOf(rel, old, now));
    return true;
  });
  for (const [rel, old] of before.files) {
    if (seen.has(rel)) continue;
    // Not met in this walk: gone, unless the walk stopped before it.
    const exists = await fs.lstat(path.join(before.root, rel)).then(() => true, () => false);
    if (!exists) changes.push(changeOf(rel, old, undefined));
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function changeOf(rel: string, old: Entry | undefined, now: Entry | undefined): FileChange {
  const change = !old ? 'added' : !now ? 'deleted' : 'modified';
  const sides = [old, now].filter((e): e is Entry => !!e);
  if (sides.some((e) => e.binary)) return { path: rel, change, diff: null, note: 'binary file' };
  if (sides.some((e) => e.text === undefined)) {
    const large = sides.some((e) => e.size > MAX_TEXT_BYTES);
    return { path: rel, change, diff: null, note: large ? 'large file: not compared line by line' : 'not compared line by line: the workspace holds too much to keep every file before a turn' };
  }
  const body = createTwoFilesPatch(old ? `a/${rel}` : '/dev/null', now ? `b/${rel}` : '/dev/null', old?.text ?? '', now?.text ?? '', undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
  if (body.length <= MAX_DIFF_CHARS) return { path: rel, change, diff: body };
  return { path: rel, change, diff: body.slice(0, body.lastIndexOf('\n', MAX_DIFF_CHARS) + 1), note: `diff cut at ${MAX_DIFF_CHARS / 1024} KB` };
}

async function entryOf(file: string, stat: import('node:fs').Stats, budget: { kept: number; read: number }, keepAnyText = false): Promise<Entry> {
  const entry: Entry = { size: stat.size, mtimeMs: stat.mtimeMs };
  if (stat.isSymbolicLink()) {
    entry.hash = `link:${await fs.readlink(file).catch(() => '')}`;
    entry.text = entry.hash;
    return entry;
  }
  if (stat.size > MAX_HASHED_BYTES || (!keepAnyText && budget.read + stat.size > MAX_READ_BYTES)) return entry;
  budget.read += stat.size;
  const data = await fs.readFile(file).catch(() => undefined);
  if (!data) return entry;
  entry.hash = crypto.createHash('sha256').update(data).digest('hex');
  entry.binary = isBinary(data);
  // After the turn, any text under the size limit is kept: it is diffed at once and dropped.
  if (!entry.binary && data.byteLength <= MAX_TEXT_BYTES && (keepAnyText || budget.kept + data.byteLength <= MAX_KEPT_BYTES)) {
    entry.text = data.toString('utf8');
    budget.kept += data.byteLength;
  }
  return entry;
}

/** A NUL byte in the first 8 KB, or bytes that are not UTF-8: not a text file. */
export function isBinary(data: Uint8Array): boolean {
  if (data.subarray(0, 8192).includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(0, 64 * 1024), { stream: true });
    return false;
  } catch {
    return true;
  }
}

/** Visits regular files and links under `dir` in a stable order; `visit` returns false to stop. */
async function walk(root: string, rel: string, visit: (rel: string, stat: import('node:fs').Stats) => Promise<boolean>): Promise<boolean> {
  const entries = await fs.readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) {
      if (SKIPPED_FOLDERS.has(entry.name)) continue;
      if (!(await walk(root, child, visit))) return false;
    } else if (entry.isFile() || entry.isSymbolicLink()) {
      const stat = await fs.lstat(path.join(root, child)).catch(() => undefined);
      if (stat && !(await visit(child, stat))) return false;
    }
  }
  return true;
}
