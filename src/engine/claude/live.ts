/**
 * Warm sessions: one long-lived `claude -p --input-format stream-json` process per active
 * conversation. A follow-up is one JSON line on its stdin and is answered in tens of milliseconds
 * instead of paying the CLI's start-up again.
 *
 * A live process is only reused while it provably holds the conversation's current state: same
 * session id, same number of turns as the database records (another worker may have advanced the
 * session meanwhile), same arguments (config, workspace, system prompt) and still running. Otherwise
 * it is stopped and a fresh one resumes the session. Idle processes stop after a timeout, and at
 * most `maxProcesses` live at once (the least recently used idle one makes room).
 */
import type { Logger } from '../../log.js';
import type { Command } from '../../sandbox/index.js';
import { startCli, type CliProcess } from '../process.js';
import { contextText, type EngineEvent, type TurnOutcome, type TurnRequest } from '../types.js';
import type { RunFacts } from './outcome.js';
import { ClaudeStream } from './stream.js';
import { answerControl, PausableTimer } from './control.js';

export interface LivePoolOptions {
  /** What to start for a conversation's live process (the engine's command, contained). */
  command: (turn: TurnRequest, args: string[]) => Command;
  maxProcesses: number;
  idleTimeoutMs: number;
  timeoutMs: number;
  log: Logger;
  outcome: (stream: ClaudeStream, facts: Omit<RunFacts, 'bin' | 'timeoutS' | 'maxTurns'>) => TurnOutcome;
}

/** How long an interrupted turn may take to wind down before its process is killed. */
const INTERRUPT_GRACE_MS = 3000;

class LiveProcess {
  readonly stream = new ClaudeStream();
  readonly proc: CliProcess;
  lastUsedAt = Date.now();
  busy = false;
  /** Turns of the session this process has seen, counted like the database counts them. */
  turns: number;
  sessionId: string | undefined;
  private reportedCost = 0;
  /** Context lines this process has already been given (memories recalled in earlier turns). */
  private readonly contextSent = new Set<string>();
  private onTurnLine?: (line: string) => void;
  private requestSeq = 0;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    readonly conversationId: string,
    readonly key: string,
    command: Command,
    cwd: string,
    turn: TurnRequest,
    private readonly pool: LivePool,
  ) {
    this.sessionId = turn.sessionId;
    this.turns = turn.sessionTurns;
    this.proc = startCli(command.bin, command.args, { cwd, env: command.env, uid: command.uid, gid: command.gid, signalInExitCode: command.signalInExitCode, stdin: 'pipe', onLine: (line) => this.onTurnLine?.(line) });
    void this.proc.exited.then(() => pool.forget(this));
  }

  fits(turn: TurnRequest, key: string): boolean {
    return this.proc.alive && this.key === key && this.sessionId === turn.sessionId && this.turns === turn.sessionTurns;
  }

  async turn(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome & { died: boolean }> {
    clearTimeout(this.idleTimer);
    this.busy = true;
    this.lastUsedAt = Date.now();
    this.stream.resetTurn();
    const startedAt = Date.now();
    const costBefore = this.reportedCost;
    let timedOut = false;
    let cancelled = false;
    let finished: () => void = () => {};
    const done = new Promise<void>((resolve) => (finished = resolve));
    const timer = new PausableTimer(this.pool.options.timeoutMs, () => {
      timedOut = true;
      void this.proc.kill();
    });
    this.onTurnLine = (line) => {
      for (const event of this.stream.push(line)) onEvent(event);
      for (const request of this.stream.takeControlRequests()) {
        void answerControl(request, turn, timer, signal).then((response) => this.write(response));
      }
      if (this.stream.result) finished();
    };
    const onAbort = () => {
      cancelled = true;
      this.write({ type: 'control_request', request_id: `interrupt_${++this.requestSeq}`, request: { subtype: 'interrupt' } });
      setTimeout(() => {
        if (!this.stream.result) void this.proc.kill();
      }, INTERRUPT_GRACE_MS).unref();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });

    if (this.proc.child.pid) onEvent({ type: 'process', pid: this.proc.child.pid });
    this.write({ type: 'user', message: { role: 'user', content: this.content(turn) } });
    await Promise.race([done, this.proc.gone]);
    timer.clear();
    signal.removeEventListener('abort', onAbort);
    this.onTurnLine = undefined;
    this.busy = false;
    this.lastUsedAt = Date.now();

    const died = !this.stream.result;
    const outcome = this.pool.options.outcome(this.stream, {
      exit: died ? await Promise.race([this.proc.exited, this.proc.gone.then(() => ({ code: this.proc.child.exitCode, signal: this.proc.child.signalCode }))]) : undefined,
      stderr: this.proc.stderrTail(),
      costBefore,
      startedAt,
      timedOut,
      cancelled,
    });
    if (this.stream.result) {
      this.reportedCost = this.stream.result.totalCostUsd;
      this.sessionId = this.stream.result.sessionId || this.sessionId;
      this.turns += 1;
      this.idleTimer = setTimeout(() => void this.pool.closeProcess(this, 'idle'), this.pool.options.idleTimeoutMs);
      this.idleTimer.unref();
    } else {
      void this.proc.kill();
    }
    return { ...outcome, died: died && !timedOut && !cancelled };
  }

  /**
   * The message for this turn. The system prompt of a live process is fixed at its start, so
   * context recalled for this turn goes in the message, as a block of its own, and only the lines
   * the process has not been given before.
   */
  private content(turn: TurnRequest): string | { type: 'text'; text: string }[] {
    const fresh = (turn.context ?? []).map((block) => ({ ...block, items: block.items.filter((item) => !this.contextSent.has(item)) }));
    const text = contextText(fresh);
    if (!text) return turn.prompt;
    for (const block of fresh) for (const item of block.items) this.contextSent.add(item);
    return [{ type: 'text', text }, { type: 'text', text: turn.prompt }];
  }

  /** Ends the process: EOF on stdin lets it exit cleanly; kill it if it does not. */
  async close(): Promise<void> {
    clearTimeout(this.idleTimer);
    if (this.proc.done) return;
    this.proc.child.stdin?.end();
    const timer = setTimeout(() => void this.proc.kill(), 1000);
    await this.proc.exited;
    clearTimeout(timer);
  }

  private write(message: unknown): void {
    if (!this.proc.done) this.proc.child.stdin?.write(JSON.stringify(message) + '\n');
  }
}

export class LivePool {
  private readonly processes = new Map<string, LiveProcess>();

  constructor(readonly options: LivePoolOptions) {}

  get size(): number {
    return this.processes.size;
  }

  /**
   * Runs the turn on the conversation's live process, starting or replacing it as needed.
   * Returns undefined when no process can be had (all slots busy): the caller runs it one-shot.
   */
  async run(
    turn: TurnRequest, args: string[], key: string, onEvent: (event: EngineEvent) => void, signal: AbortSignal,
  ): Promise<TurnOutcome | undefined> {
    let live = this.processes.get(turn.conversationId);
    if (live && !live.fits(turn, key)) {
      // Idle, so nothing is lost: let it exit on its own time, off the path of this answer.
      void this.closeProcess(live, 'stale');
      live = undefined;
    }
    if (!live) {
      if (!this.makeRoom()) return undefined;
      live = this.spawn(turn, args, key);
    }
    let textSeen = false;
    const outcome = await live.turn(turn, (event) => {
      if (event.type === 'text') textSeen = true;
      onEvent(event);
    }, signal);
    if (outcome.died && !textSeen) {
      // The process died under us before writing anything: replace it once, transparently.
      this.options.log.warn({ conversationId: turn.conversationId, detail: outcome.error?.detail }, 'live claude process died; replacing it');
      if (!this.makeRoom()) return undefined;
      const fresh = this.spawn(turn, args, key);
      const retried = await fresh.turn(turn, onEvent, signal);
      return strip(retried);
    }
    return strip(outcome);
  }

  async close(conversationId: string): Promise<void> {
    const live = this.processes.get(conversationId);
    if (live) await this.closeProcess(live, 'released');
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.processes.values()].map((p) => this.closeProcess(p, 'shutdown')));
  }

  async closeProcess(live: LiveProcess, why: string): Promise<void> {
    this.forget(live);
    this.options.log.debug({ conversationId: live.conversationId, why }, 'stopping live claude process');
    await live.close();
  }

  forget(live: LiveProcess): void {
    if (this.processes.get(live.conversationId) === live) this.processes.delete(live.conversationId);
  }

  private spawn(turn: TurnRequest, args: string[], key: string): LiveProcess {
    const live = new LiveProcess(turn.conversationId, key, this.options.command(turn, args), turn.cwd, turn, this);
    this.processes.set(turn.conversationId, live);
    return live;
  }

  /** Frees a slot if the pool is full by stopping the least recently used idle process (in the background). */
  private makeRoom(): boolean {
    if (this.processes.size < this.options.maxProcesses) return true;
    const idle = [...this.processes.values()].filter((p) => !p.busy).sort((a, b) => a.lastUsedAt - b.lastUsedAt)[0];
    if (!idle) return false;
    void this.closeProcess(idle, 'evicted');
    return true;
  }
}

function strip(outcome: TurnOutcome & { died: boolean }): TurnOutcome {
  const { died: _died, ...rest } = outcome;
  return rest;
}
