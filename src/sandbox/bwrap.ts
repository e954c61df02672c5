/**
 * The bubblewrap command line around one CLI process. Inside, the CLI sees the system read-only, a
 * private /tmp, its conversation's workspace and CLI home read-write, and nothing of the gateway's
 * own files: the data dir (database, every workspace, every CLI home, models), the config file, the
 * gateway user's home and the CLI logins are covered by empty folders. The network stays (the CLI
 * needs its API; the memory tools are on loopback).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface BwrapPlan {
  /** The conversation's workspace: read-write, and the working directory. */
  workspace: string;
  /** The conversation's CLI home: read-write. */
  home: string;
  /** Folders covered by an empty tmpfs. */
  hideDirs: string[];
  /** Files replaced by an empty one (a file cannot be covered by a folder). */
  hideFiles: string[];
  /** Folders under a hidden one that the CLI needs to run (its install dir, node), bound back read-only. */
  runFrom: string[];
  /**
   * A pseudo-terminal of its own (a terminal tab): the process keeps it as its controlling terminal, so
   * Ctrl-C and job control work. `--new-session` is there to stop a CLI pushing keystrokes into the
   * terminal it was started from (TIOCSTI); a tab's terminal is its own, with nothing behind it.
   */
  ownTerminal?: boolean;
}

export const BWRAP = 'bwrap';

export function bwrapArgs(plan: BwrapPlan, bin: string, args: string[]): string[] {
  const out = ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp'];
  const dirs = unique(plan.hideDirs).filter((d) => d !== '/').sort((a, b) => a.length - b.length);
  for (const dir of dirs) out.push('--tmpfs', dir);
  for (const file of unique(plan.hideFiles)) {
    // One under a hidden folder is gone already; binding over it would make it reappear, empty.
    if (!dirs.some((d) => within(d, file)) && !within('/tmp', file) && exists(file)) out.push('--ro-bind', '/dev/null', file);
  }
  for (const dir of unique(plan.runFrom)) {
    if ([...dirs, '/tmp'].some((d) => within(d, dir)) && exists(dir)) out.push('--ro-bind', dir, dir);
  }
  out.push('--bind', plan.workspace, plan.workspace, '--bind', plan.home, plan.home);
  out.push(
    // Root keeps its capabilities in bubblewrap unless told: with CAP_SYS_ADMIN it could unmount
    // the empty folders and read what they cover.
    '--cap-drop', 'ALL',
    '--die-with-parent', '--unshare-pid', ...(plan.ownTerminal ? [] : ['--new-session']),
    '--chdir', plan.workspace,
    '--', bin, ...args,
  );
  return out;
}

/**
 * Folders the CLI runs from: the top `node_modules` holding its real file (a Node CLI imports its
 * neighbours), else its folder; and Node's own install for CLIs that are Node scripts.
 */
export function installDirs(bin: string): string[] {
  const dirs: string[] = [];
  for (const file of [bin, process.execPath]) {
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      continue;
    }
    const marker = `${path.sep}node_modules${path.sep}`;
    const at = real.indexOf(marker);
    dirs.push(at >= 0 ? real.slice(0, at + marker.length - 1) : path.dirname(path.dirname(real)));
  }
  return dirs;
}

/** Whether bubblewrap can make a sandbox on this machine; the reason when it cannot. */
export function probeBwrap(as?: { uid: number; gid: number }): { ok: true } | { ok: false; reason: string } {
  const result = spawnSync(BWRAP, ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--die-with-parent', '--unshare-pid', '--new-session', '--', 'true'], {
    stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000, encoding: 'utf8', ...(as ? { uid: as.uid, gid: as.gid } : {}),
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? 'bubblewrap is not installed' : `bwrap could not start (${code})` };
  }
  if (result.status !== 0) return { ok: false, reason: `bwrap cannot make a sandbox here: ${result.stderr.trim().split('\n').at(-1) || `exit ${result.status}`}` };
  return { ok: true };
}

function within(dir: string, target: string): boolean {
  const rel = path.relative(dir, target);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function exists(p: string): boolean {
  return fs.existsSync(p);
}

function unique(paths: string[]): string[] {
  return [...new Set(paths.map((p) => path.resolve(p)))];
}
