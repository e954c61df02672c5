/**
 * The folders of a spare CLI process: one started before anyone knows which conversation it will
 * serve (see engine/claude/live.ts). A conversation's CLI must run in that conversation's workspace
 * and CLI home, and a process cannot be moved, so the folders are moved to it instead:
 *
 * - the spare starts in a workspace and a CLI home of its own, `<workspaces root>/.spares/<id>` and
 *   `<data_dir>/cli-homes/<engine>/.spares/<id>`, empty but for the copy of the login every home gets;
 * - the conversation that takes it adopts both: whatever its own folders already hold (files sent
 *   with the first message, a workspace kept across /new, the sessions of its earlier /new) is moved
 *   into the spare's, and the spare's folders are renamed to the conversation's paths. The process
 *   keeps its open folders (a rename does not change an inode), so from then on it works in the
 *   conversation's own workspace and writes its session into the conversation's own home;
 * - the spare's old paths become symlinks to the new ones while the process lives, for the CLI's
 *   own idea of its paths (its cwd string, $CLAUDE_CONFIG_DIR) when no sandbox binds them. Under
 *   bubblewrap those paths are bind mounts inside the sandbox and need no link.
 *
 * So each conversation's sessions still live in its own home, a spare never sees a conversation
 * before it is taken, and nothing in the sandbox is widened: it shows the spare its two folders,
 * exactly as a conversation's process is shown its own.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SpareDirs {
  workspace: string;
  home: string;
}

/** The spare's own folders (made by the caller: the workspace here, the home by prepareHome). */
export function spareDirs(workspaceRoot: string, homesRoot: string, id: string): SpareDirs {
  return { workspace: path.join(workspaceRoot, '.spares', id), home: path.join(homesRoot, '.spares', id) };
}

/**
 * Moves the conversation's folders into the spare's, then the spare's to the conversation's paths,
 * leaving links behind. In the workspace nothing of the conversation's is overwritten; in the home
 * the spare's fresh copy of the login wins, and every other entry of the old home (earlier
 * sessions) is kept. On failure everything moved is moved back and the error thrown: the
 * conversation then runs without the spare, its folders as they were.
 */
export function adoptSpare(spare: SpareDirs, target: SpareDirs): void {
  fs.mkdirSync(path.dirname(target.workspace), { recursive: true });
  fs.mkdirSync(path.dirname(target.home), { recursive: true });
  const moved: [string, string][] = [];
  try {
    merge(target.workspace, spare.workspace, 'from', moved);
    merge(target.home, spare.home, 'to', moved);
    // Empty now but for what is left of the old home; rmdir (not rm -r) refuses if a file appeared meanwhile.
    if (fs.existsSync(target.workspace)) fs.rmdirSync(target.workspace);
    fs.renameSync(spare.workspace, target.workspace);
  } catch (err) {
    fs.mkdirSync(target.workspace, { recursive: true, mode: 0o700 });
    for (const [from, to] of moved.reverse()) fs.renameSync(to, from);
    throw err;
  }
  fs.rmSync(target.home, { recursive: true, force: true });
  fs.renameSync(spare.home, target.home);
  fs.symlinkSync(target.workspace, spare.workspace);
  fs.symlinkSync(target.home, spare.home);
}

/** Removes a spare's folders (never taken), or the links an adopted spare left (its process ended). */
export function removeSpare(spare: SpareDirs): void {
  for (const p of [spare.workspace, spare.home]) fs.rmSync(p, { recursive: true, force: true });
}

/**
 * Renames every entry of `from` into `to` (made if missing), noting each move in `moved`. Two
 * folders of the same name are merged. Two files of the same name: with `wins` = "to" the one in `to`
 * stays (the other is left in `from`); with "from" nothing may be overwritten, and it throws.
 */
function merge(from: string, to: string, wins: 'from' | 'to', moved: [string, string][]): void {
  let names: string[];
  try {
    names = fs.readdirSync(from);
  } catch {
    return;
  }
  fs.mkdirSync(to, { recursive: true, mode: 0o700 });
  for (const name of names) {
    const a = path.join(from, name);
    const b = path.join(to, name);
    const there = fs.lstatSync(b, { throwIfNoEntry: false });
    if (there?.isDirectory() && fs.lstatSync(a).isDirectory()) {
      merge(a, b, wins, moved);
    } else if (!there || wins === 'from') {
      if (there) throw new Error(`${b} is in the way`);
      try {
        fs.renameSync(a, b);
      } catch (err) {
        // Gone meanwhile: a CLI still stopping (after /new) removes its own files as it exits.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw err;
      }
      moved.push([a, b]);
    }
  }
}
