/**
 * A process somewhere in a deployment, written `host:pid` in the store (a lease owner adds
 * `:nonce`), so that whoever finds it later can tell whether it ran on this machine.
 */
import os from 'node:os';

export interface ProcessId {
  host: string;
  pid: number;
}

/** `host:pid` of a process of this machine. */
export function processRecord(pid: number): string {
  return `${os.hostname()}:${pid}`;
}

/**
 * Whether a record names a process of this machine that no longer exists. False while it runs, and
 * for a process of another machine (nobody here can tell).
 */
export function isGoneLocally(record: string): boolean {
  const pid = localProcessOf(record)?.pid;
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The process a record names, if it is well formed and on this machine; undefined otherwise. */
export function localProcessOf(record: string): ProcessId | undefined {
  const [host, pidText] = record.split(':');
  const pid = Number(pidText);
  if (host !== os.hostname() || !Number.isInteger(pid) || pid < 1) return undefined;
  return { host, pid };
}
