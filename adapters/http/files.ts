/**
 * A conversation's workspace through the API (the web chat's Files panel):
 *
 *   GET  /v1/conversations/{id}/files?path=<dir>                 one folder: {path, entries: [{name, path, type, size, mtime}], truncated}
 *   GET  /v1/conversations/{id}/files/content?path=<file>        a preview: {path, size, mtime, binary, truncated, text?, image?}
 *   GET  /v1/conversations/{id}/files/raw?path=<file>[&download=1]   the bytes
 *   POST /v1/conversations/{id}/files?path=<dir>&name=<file>     the body saved there (never over an existing file)
 *   GET  /v1/conversations/{id}/changes                          which files each answer changed
 *   GET  /v1/conversations/{id}/messages/{message_id}/changes    one answer's changes, with unified diffs
 *
 * Whoever may read the conversation may read its files; another's conversation answers 404 like a
 * missing one. Only the conversation's writers (web conversations of the key's user) may upload. Every
 * path is resolved inside the workspace: "..", absolute paths and links out of it are refused (400).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { Context, Hono } from 'hono';
import type { GatewayApi } from '../../src/adapter.js';
import { isBinary } from '../../src/workspace-changes.js';
import { ensureWorkspace, resolveInside } from '../../src/workspace.js';
import type { HttpEnv } from './context.js';
import { apiError } from './index.js';

/** Most entries listed for one folder; the rest are counted (`truncated`, `total`). */
export const MAX_ENTRIES = 1000;
/** Most text a preview carries; the file can be downloaded whole. */
export const MAX_PREVIEW_BYTES = 256 * 1024;

export interface FileEntry {
  name: string;
  /** Relative to the workspace, "/" separators: what `path=` takes. */
  path: string;
  /** `link`: a link that leads outside the workspace, or nowhere. */
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
}

const IMAGES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.svg': 'image/svg+xml', '.ico': 'image/x-icon', '.bmp': 'image/bmp',
};
/** Types the raw endpoint sends; anything that a browser could run as a page goes as plain text or bytes. */
const TYPES: Record<string, string> = {
  ...IMAGES, '.pdf': 'application/pdf', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8', '.zip': 'application/zip', '.gz': 'application/gzip', '.mp3': 'audio/mpeg', '.mp4': 'video/mp4', '.wav': 'audio/wav',
};

type Env = HttpEnv;
type Workspace = { conversationId: string; root: string };

export function fileRoutes(app: Hono<Env>, api: () => GatewayApi, fullId: (user: string, id: string) => string | undefined, maxFileMb: number): void {
  /** The conversation's workspace, or the 404 another's or a missing conversation gets. */
  const workspaceOf = (c: Context<Env>): Workspace | Response => {
    const conversationId = fullId(c.get('user'), c.req.param('id')!);
    // Writers may use their web conversation's workspace before its first message (upload, then ask).
    if (!conversationId || !(isWriter(c, conversationId) || api().canRead(c.get('reader'), conversationId))) {
      return c.json(apiError(`No conversation ${c.req.param('id')}.`, 'not_found'), 404);
    }
    return { conversationId, root: api().workspaceOf(conversationId) };
  };

  app.get('/v1/conversations/:id/files', (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    const dirPath = c.req.query('path') ?? '';
    if (!dirPath && !fs.existsSync(ws.root)) return c.json({ path: '', entries: [], truncated: false, total: 0 });
    const target = resolve(c, ws, dirPath);
    if (target instanceof Response) return target;
    if (!fs.statSync(target.path).isDirectory()) return c.json(apiError(`${dirPath} is a file, not a folder: open it with /files/content.`, 'not_a_folder'), 400);
    const root = fs.realpathSync(ws.root);
    // Sorted from the directory's own listing; only the entries shown are looked at (stat) further.
    const dirents = fs.readdirSync(target.path, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() || (d.isSymbolicLink() && isDirInside(root, path.join(target.path, d.name))) }));
    dirents.sort((a, b) => Number(b.dir) - Number(a.dir) || a.name.localeCompare(b.name, 'en'));
    const entries = dirents.slice(0, MAX_ENTRIES).map((d) => entryOf(root, target.relative, target.path, d.name));
    return c.json({ path: toPosix(target.relative), entries, truncated: dirents.length > MAX_ENTRIES, total: dirents.length });
  });

  app.get('/v1/conversations/:id/files/content', (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    const file = openFile(c, ws);
    if (file instanceof Response) return file;
    const { real, relative, stat } = file;
    const head = readHead(real, Math.min(stat.size, MAX_PREVIEW_BYTES + 1));
    const image = IMAGES[path.extname(real).toLowerCase()];
    const binary = !!image || isBinary(head);
    const truncated = stat.size > MAX_PREVIEW_BYTES;
    return c.json({
      path: toPosix(relative), name: path.basename(real), size: stat.size, mtime: Math.round(stat.mtimeMs), binary, truncated,
      ...(binary ? {} : { text: previewText(head, truncated) }),
      ...(image ? { image } : {}),
    });
  });

  app.get('/v1/conversations/:id/files/raw', (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    const file = openFile(c, ws);
    if (file instanceof Response) return file;
    const name = path.basename(file.real);
    const type = TYPES[path.extname(name).toLowerCase()] ?? (isBinary(readHead(file.real, 8192)) ? 'application/octet-stream' : 'text/plain; charset=utf-8');
    const disposition = c.req.query('download') ? 'attachment' : 'inline';
    const stream = Readable.toWeb(fs.createReadStream(file.real)) as ReadableStream<Uint8Array>;
    return c.body(stream, 200, {
      'content-type': type,
      'content-length': String(file.stat.size),
      'content-disposition': `${disposition}; filename="${asciiName(name)}"; filename*=UTF-8''${encodeRfc5987(name)}`,
      'cache-control': 'private, no-store',
    });
  });

  app.post('/v1/conversations/:id/files', async (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    if (!isWriter(c, ws.conversationId)) {
      return c.json(apiError(`${ws.conversationId} is read-only for you: only its owner can upload into its workspace (yours are your own web conversations, http:${c.get('user')}:<name>).`, 'read_only'), 403);
    }
    const name = c.req.query('name') ?? '';
    const bad = badName(name);
    if (bad) return c.json(apiError(bad, 'invalid_name'), 400);
    const dirPath = c.req.query('path') ?? '';
    ensureWorkspace(ws.root);
    const dir = resolve(c, ws, dirPath);
    if (dir instanceof Response) return dir;
    if (!fs.statSync(dir.path).isDirectory()) return c.json(apiError(`${dirPath} is a file, not a folder.`, 'not_a_folder'), 400);
    const limit = maxFileMb * 1024 * 1024;
    const tooLarge = () => c.json(apiError(`The file is over ${maxFileMb} MB, the largest upload (http.max_file_mb in the config).`, 'file_too_large'), 413);
    if (Number(c.req.header('content-length') ?? 0) > limit) return tooLarge();
    const data = await readBody(c, limit);
    if (!data) return tooLarge();
    const saved = saveNew(dir.path, name, data);
    return c.json({ path: toPosix(path.join(dir.relative, saved)), name: saved, size: data.byteLength }, 201);
  });

  app.get('/v1/conversations/:id/changes', (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    return c.json({ data: api().fileChanges.summary(ws.conversationId) });
  });

  app.get('/v1/conversations/:id/messages/:message_id/changes', (c) => {
    const ws = workspaceOf(c);
    if (ws instanceof Response) return ws;
    const messageId = Number(c.req.param('message_id'));
    if (!Number.isSafeInteger(messageId)) return c.json(apiError('A message id is a number.', 'invalid_request'), 400);
    return c.json({ message_id: messageId, data: api().fileChanges.ofMessage(ws.conversationId, messageId) });
  });
}

function isWriter(c: Context<Env>, conversationId: string): boolean {
  return conversationId.startsWith(`http:${c.get('user')}:`);
}

/** A path from the query, inside the workspace; "" is the workspace itself. */
function resolve(c: Context<Env>, ws: Workspace, userPath: string): { path: string; relative: string } | Response {
  if (userPath.split(/[\\/]/).includes('..')) return c.json(apiError('A path may not contain "..": give it from the workspace\'s top, like "src/app.ts".', 'invalid_path'), 400);
  const resolved = resolveInside(ws.root, userPath || '.');
  if (!resolved.ok) return c.json(apiError(resolved.error, resolved.missing ? 'not_found' : 'invalid_path'), resolved.missing ? 404 : 400);
  return resolved;
}

function openFile(c: Context<Env>, ws: Workspace): { real: string; relative: string; stat: fs.Stats } | Response {
  const userPath = c.req.query('path') ?? '';
  if (!userPath) return c.json(apiError('Say which file: ?path=<file>.', 'invalid_path'), 400);
  const target = resolve(c, ws, userPath);
  if (target instanceof Response) return target;
  const stat = fs.statSync(target.path);
  if (!stat.isFile()) return c.json(apiError(`${userPath} is ${stat.isDirectory() ? 'a folder: list it with /files?path=' : 'not a regular file'}.`, 'not_a_file'), 400);
  return { real: target.path, relative: target.relative, stat };
}

function entryOf(root: string, dirRelative: string, dir: string, name: string): FileEntry {
  const full = path.join(dir, name);
  const entryPath = toPosix(path.join(dirRelative, name));
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(full);
  } catch {
    return { name, path: entryPath, type: 'other', size: 0, mtime: 0 };
  }
  let type: FileEntry['type'] = stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other';
  if (stat.isSymbolicLink()) {
    // A link is shown as what it leads to when that is inside the workspace.
    type = 'link';
    try {
      const real = fs.realpathSync(full);
      const rel = path.relative(root, real);
      if (!rel.startsWith('..') && !path.isAbsolute(rel)) {
        stat = fs.statSync(real);
        type = stat.isDirectory() ? 'dir' : stat.isFile() ? 'file' : 'other';
      }
    } catch {
      /* broken: a link */
    }
  }
  return { name, path: entryPath, type, size: type === 'dir' ? 0 : stat.size, mtime: Math.round(stat.mtimeMs) };
}

/** A link that leads to a folder inside the workspace (shown as that folder). */
function isDirInside(root: string, link: string): boolean {
  try {
    const real = fs.realpathSync(link);
    const rel = path.relative(root, real);
    return !rel.startsWith('..') && !path.isAbsolute(rel) && fs.statSync(real).isDirectory();
  } catch {
    return false;
  }
}

/** A name to create a file under, or why it cannot be one. */
function badName(name: string): string | undefined {
  if (!name) return 'Name the file: ?name=<file name>.';
  if (/[\\/]/.test(name)) return `"${name}" has a "/" or "\\": give the folder in ?path= and only the file's name in ?name=.`;
  if (name === '.' || name === '..') return `"${name}" is not a file name.`;
  if (/[\x00-\x1f\x7f]/.test(name)) return 'A file name may not contain control characters.';
  if (Buffer.byteLength(name) > 255) return 'That file name is over 255 bytes.';
  return undefined;
}

/** Writes a new file, never over one there: a second "a.png" becomes "a-2.png". Returns the name used. */
function saveNew(dir: string, name: string, data: Uint8Array): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  for (let i = 1; ; i++) {
    const candidate = i === 1 ? name : `${stem}-${i}${ext}`;
    try {
      // "wx" also refuses to write through a link of that name.
      fs.writeFileSync(path.join(dir, candidate), data, { flag: 'wx' });
      return candidate;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** The request body, or undefined once it passes `limit` bytes (the rest is not read). */
async function readBody(c: Context<Env>, limit: number): Promise<Uint8Array | undefined> {
  const body = c.req.raw.body;
  if (!body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The text of a preview: cut at the limit, and then before a character the cut split (held back as a stream would). */
function previewText(head: Buffer, truncated: boolean): string {
  return new TextDecoder().decode(head.subarray(0, MAX_PREVIEW_BYTES), { stream: truncated });
}

function readHead(file: string, bytes: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const read = fs.readSync(fd, buffer, 0, bytes, 0);
    return buffer.subarray(0, read);
  } finally {
    fs.closeSync(fd);
  }
}

/** A file name for the quoted `filename=`: ASCII, no quotes or backslashes (`filename*` carries the real one). */
function asciiName(name: string): string {
  return name.replace(/[^\x20-\x7e]|["\\]/g, '_');
}

/** Percent-encoding for `filename*`, which allows fewer characters than a URL component. */
function encodeRfc5987(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
