/**
 * Starting a CLI the safe way: arguments as argv (never a shell), its own process group so a timeout
 * can kill it with everything it started, stdout read line by line, the end of stderr kept for errors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

export interface CliExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (ENOENT, EACCES). */
  spawnError?: NodeJS.ErrnoException;
}

export interface CliProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<CliExit>;
  /** Last few kB of stderr. */
  stderrTail(): string;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`. Resolves when the process is gone. */
  kill(graceMs?: number): Promise<CliExit>;
  /** True once the process has exited and its output is read. */
  readonly done: boolean;
  /** False as soon as the process has exited, even while a child it left still holds its output open. */
  readonly alive: boolean;
  /** Resolves when the process is gone: at 'close', or shortly after 'exit' if a leftover child keeps stdout open. */
  readonly gone: Promise<void>;
}

export interface StartOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** 'ignore' for one-shot runs: an open silent stdin makes `claude -p` wait 3 s. */
  stdin: 'ignore' | 'pipe';
  /** Start it as this user and group (sandbox.run_as_user); the gateway's own by default. */
  uid?: number;
  gid?: number;
  /** It runs inside a wrapper (bubblewrap) that reports its death by signal n as exit code 128 + n. */
  signalInExitCode?: boolean;
  onLine: (line: string) => void;
}

const STDERR_KEEP = 8192;

export function startCli(bin: string, args: string[], options: StartOptions): CliProcess {
  const child = spawn(bin, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: [options.stdin, 'pipe', 'pipe'],
    ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid } : {}),
    detached: true, // a process group of its own, so kill(-pid) reaches the CLI's children too
  });
  let stderr = '';
  let pending = '';
  let done = false;
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    pending += chunk;
    let newline: number;
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) options.onLine(line);
    }
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  // A child that dies while we write to its stdin must not crash the gateway.
  child.stdin?.on('error', () => {});
  const exited = new Promise<CliExit>((resolve) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      done = true;
      resolve({ code: null, signal: null, spawnError: err });
    });
    // 'close' waits for stdout to end, so every line has been seen by then.
    child.once('close', (code, signal) => {
      if (pending.trim()) options.onLine(pending.trim());
      pending = '';
      done = true;
      resolve(options.signalInExitCode ? unwrapSignal(code, signal) : { code, signal });
    });
  });

  const gone = new Promise<void>((resolve) => {
    void exited.then(() => resolve());
    child.once('exit', () => setTimeout(resolve, 200).unref());
  });

  const signalGroup = (signal: NodeJS.Signals) => {
    if (done || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      try {
        child.kill(signal);
      } catch {
        /* already gone */
      }
    }
  };

  return {
    child,
    exited,
    stderrTail: () => stderr,
    get done() {
      return done;
    },
    get alive() {
      return !done && child.exitCode === null && child.signalCode === null;
    },
    gone,
    async kill(graceMs = 2000) {
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      // The leader is gone; make sure nothing it started lingers.
      signalGroup('SIGKILL');
      return result;
    },
  };
}

/** The CLI's own end inside a wrapper: exit code 128 + n is death by signal n, as a shell reports it. */
export function unwrapSignal(code: number | null, signal: NodeJS.Signals | null): { code: number | null; signal: NodeJS.Signals | null } {
  if (code === null || code <= 128) return { code, signal };
  const name = (Object.entries(os.constants.signals) as [NodeJS.Signals, number][]).find(([, n]) => n === code - 128)?.[0];
  return name ? { code: null, signal: name } : { code, signal };
}

/** Whether `bin` names an executable file, or a bare name found on PATH. */
export function findExecutable(bin: string, envPath = process.env.PATH ?? ''): string | undefined {
  const candidates = bin.includes('/') ? [bin] : envPath.split(':').filter(Boolean).map((dir) => `${dir}/${bin}`);
  for (const candidate of candidates) {
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      if (fs.statSync(candidate).isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** `<bin> <args>` for a quick answer (`--version`): its output, and whether it exited 0. */
export async function quickRun(bin: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<{ ok: boolean; output: string }> {
  let output = '';
  const proc = startCli(bin, args, { cwd: process.cwd(), env, stdin: 'ignore', onLine: (l) => (output += l + '\n') });
  const timer = setTimeout(() => void proc.kill(), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(timer);
  return { ok: exit.code === 0, output: (output || proc.stderrTail()).trim() };
}
