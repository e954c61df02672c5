/**
 * `sandbox.run_as_user`: every CLI runs as another Unix user, for machines where bubblewrap cannot
 * run. The gateway (root) hands the conversation's workspace and CLI home to that user, and keeps
 * its own files to itself: its folders can be passed through but not listed, the database is
 * readable by the gateway alone.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

/** The user named (or numbered) in the config, from /etc/passwd; an Error saying what to do otherwise. */
export function resolveUser(spec: string, passwd = '/etc/passwd'): RunAs {
  if (process.getuid?.() !== 0) {
    throw new Error(`sandbox.run_as_user = "${spec}" needs cligate to run as root, to start each CLI as that user. Run cligate as root, or leave run_as_user empty and use bubblewrap (sandbox.mode).`);
  }
  let lines: string[] = [];
  try {
    lines = fs.readFileSync(passwd, 'utf8').split('\n');
  } catch {
    /* no passwd file: nothing matches */
  }
  for (const line of lines) {
    const [name, , uid, gid] = line.split(':');
    if (name && (name === spec || uid === spec)) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`sandbox.run_as_user: there is no user "${spec}" on this machine. Create one (\`useradd --system --no-create-home cligate-cli\`) or name an existing one.`);
}

/**
 * Lets `user` work in `dirs` (the workspace, the CLI home): handed over whole the first time; after
 * that only two levels deep are looked at, where the gateway puts things of its own (uploads/, a
 * refreshed credentials file), so a big workspace is not walked at every start.
 */
export function handOver(user: RunAs, dirs: string[]): void {
  for (const dir of dirs) {
    const owned = fs.statSync(dir).uid === user.uid;
    chownTree(dir, user, owned ? 2 : Infinity);
  }
}

/** The gateway's folders on the way to them: passable (x), not listable; its database its own. */
export function guardGatewayFiles(folders: string[], privateFiles: string[]): void {
  for (const folder of folders) {
    try {
      fs.chmodSync(folder, 0o711);
    } catch {
      /* not made yet: made later with the gateway's umask, and guarded at the next start */
    }
  }
  for (const file of privateFiles) {
    try {
      fs.chmodSync(file, 0o600);
    } catch {
      /* not there */
    }
  }
}

function chownTree(target: string, user: RunAs, depth: number): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(target);
  } catch {
    return;
  }
  if (stat.uid !== user.uid || stat.gid !== user.gid) fs.lchownSync(target, user.uid, user.gid);
  if (stat.isDirectory() && depth > 0) for (const entry of fs.readdirSync(target)) chownTree(path.join(target, entry), user, depth - 1);
}
