/**
 * One CLI run for one turn, the way every engine needs it: start, feed stdin (or none), read lines,
 * stop it at the timeout or on cancel (its whole process group), and report how it ended.
 */
import { PausableTimer, type TurnClock } from './claude/control.js';
import { startCli, type CliExit } from './process.js';
import type { EngineEvent } from './types.js';

/** What a line handler may do to the running process: answer it on stdin, pause its timeout. */
export interface RunControl {
  write(line: string): void;
  clock: TurnClock;
}

export interface RunOnceOptions {
  bin: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** The user and group to run it as (sandbox.run_as_user). */
  uid?: number;
  gid?: number;
  /** Started inside bubblewrap, which reports a death by signal as an exit code. */
  signalInExitCode?: boolean;
  /** Written to stdin, which is then closed (or kept open for answers, with `interactive`); undefined: no stdin at all. */
  input?: string;
  /** Keep stdin open after `input` until the run is over, so the process can be answered (control requests). */
  interactive?: boolean;
  timeoutMs: number;
  signal: AbortSignal;
  onLine: (line: string, control: RunControl) => void;
  onEvent: (event: EngineEvent) => void;
  /** True once the answer is complete: the run is over without waiting for the process to exit. */
  finished?: () => boolean;
}

export interface RunOnceResult {
  /** Undefined when the run ended at `finished`, before the process exited. */
  exit?: CliExit;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  startedAt: number;
}

export async function runOnce(options: RunOnceOptions): Promise<RunOnceResult> {
  const startedAt = Date.now();
  let timedOut = false;
  let cancelled = false;
  let markDone: () => void = () => {};
  const done = new Promise<void>((resolve) => (markDone = resolve));
  const proc = startCli(options.bin, options.args, {
    cwd: options.cwd,
    env: options.env,
    uid: options.uid,
    gid: options.gid,
    signalInExitCode: options.signalInExitCode,
    stdin: options.input === undefined ? 'ignore' : 'pipe',
    onLine: (line) => {
      options.onLine(line, control);
      if (options.finished?.()) markDone();
    },
  });
  const timer = new PausableTimer(options.timeoutMs, () => {
    timedOut = true;
    void proc.kill();
  });
  const control: RunControl = {
    write: (line) => {
      if (!proc.done) proc.child.stdin?.write(line.endsWith('\n') ? line : line + '\n');
    },
    clock: timer,
  };
  if (options.input !== undefined) {
    if (options.interactive) proc.child.stdin?.write(options.input);
    else proc.child.stdin?.end(options.input);
  }
  if (proc.child.pid) options.onEvent({ type: 'process', pid: proc.child.pid });
  const onAbort = () => {
    cancelled = true;
    void proc.kill();
  };
  if (options.signal.aborted) onAbort();
  else options.signal.addEventListener('abort', onAbort, { once: true });
  await Promise.race([done, proc.exited]);
  timer.clear();
  // EOF lets an interactive process exit on its own once its answer is complete.
  if (options.interactive) proc.child.stdin?.end();
  options.signal.removeEventListener('abort', onAbort);
  const finishedEarly = options.finished?.() ?? false;
  return { exit: finishedEarly ? undefined : await proc.exited, stderr: proc.stderrTail(), timedOut, cancelled, startedAt };
}
