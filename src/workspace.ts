/**
 * Each conversation works in its own folder under the workspace root. Every path a user supplies
 * (attachment names, /file) is resolved inside that folder and refused if it would leave it,
 * whether by "..", an absolute path or a symlink.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The workspace folder of a conversation: readable, unique, and safe as a single path segment. */
export function workspacePath(root: string, conversationId: string): string {
  const readable = conversationId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 80);
  const hash = crypto.createHash('sha256').update(conversationId).digest('hex').slice(0, 8);
  return path.join(root, `${readable}-${hash}`);
}

export function ensureWorkspace(dir: string): string {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** `missing`: the path stays inside but nothing is there (the others are refusals). */
export type Resolved = { ok: true; path: string; relative: string } | { ok: false; error: string; missing?: true };

/** Resolves a user-supplied path inside `workspace`, following symlinks, refusing anything outside. */
export function resolveInside(workspace: string, userPath: string): Resolved {
  if (!userPath || userPath.includes('\0')) return { ok: false, error: 'That is not a valid file path.' };
  if (path.isAbsolute(userPath)) return { ok: false, error: 'Give a path relative to the conversation\'s workspace, not an absolute one.' };
  const root = fs.realpathSync(ensureWorkspace(workspace));
  const target = path.resolve(root, userPath);
  if (!isWithin(root, target)) return { ok: false, error: 'That path leaves the conversation\'s workspace.' };
  let real: string;
  try {
    real = fs.realpathSync(target);
  } catch {
    return { ok: false, error: `There is no file ${userPath} in this conversation's workspace.`, missing: true };
  }
  if (!isWithin(root, real)) return { ok: false, error: 'That path leads outside the conversation\'s workspace (through a link).' };
  return { ok: true, path: real, relative: path.relative(root, real) };
}

function isWithin(root: string, target: string): boolean {
  const rel = path.relative(root, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** A file name safe to create: no folders, no leading dots, no control characters. */
export function safeFileName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  const cleaned = base.replace(/[\x00-\x1f\x7f]/g, '').replace(/^\.+/, '').trim().slice(0, 120);
  return cleaned || 'file';
}

/** Saves an upload under `uploads/`, never overwriting: a second "a.png" becomes "a-2.png". */
export function saveUpload(workspace: string, name: string, data: Uint8Array): { relative: string; size: number } {
  const dir = path.join(ensureWorkspace(workspace), 'uploads');
  fs.mkdirSync(dir, { recursive: true });
  const safe = safeFileName(name);
  const ext = path.extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = path.join(dir, i === 1 ? safe : `${stem}-${i}${ext}`);
    try {
      fs.writeFileSync(candidate, data, { flag: 'wx' });
      return { relative: path.relative(workspace, candidate), size: data.byteLength };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
