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
 *
 * Spares: `spares.count` processes started ahead of need, each holding a fresh session id
 * (`--session-id`), so a new session (a new conversation, or the first message after /new) skips
 * the CLI's start-up too. A spare is started with the flags of the last new session (the platform's
 * system prompt, the permission mode, the kept tool rules): a turn whose flags differ does not take
 * it. Taking it moves the spare's folders to the conversation (sandbox/spares.ts); another is started
 * in the background. Spares count within `maxProcesses`, never evict a conversation's process, and
 * are the first to go when a conversation needs the room.
 *
 * Early starts: `prewarm` starts a conversation's `--resume` process as its message is accepted,
 * before a worker picks the message up; the turn then finds it running. Still one process per
 * conversation: the pool holds at most one, and a prewarm never replaces one.
 */
import crypto from 'node:crypto';
import type { Logger } from '../../log.js';
import type { Command } from '../../sandbox/index.js';
import type { SpareDirs } from '../../sandbox/spares.js';
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
  spares?: SpareOptions;
}

/** The flags a spare is started with; the same key means the same command line but for the session. */
export interface SpareTemplate {
  key: string;
  /** `mcp`: with memory's tools, bound to the conversation when it takes the spare. */
  turn: Pick<TurnRequest, 'systemPrompt' | 'permissionMode' | 'allowRules'> & { mcp?: boolean };
}

/** A spare's own: its folders, and the MCP config it was started with (bound when taken). */
export interface SpareStart {
  command: Command;
  dirs: SpareDirs;
  mcpConfig?: string;
}

export interface SpareOptions {
  count: number;
  /** The template a turn of a new session needs; undefined: no spare can serve it. */
  templateOf(turn: TurnRequest): SpareTemplate | undefined;
  /** A spare's folders and command, for a fresh session `sessionId`; undefined: none can be started now. */
  start(template: SpareTemplate, sessionId: string): SpareStart | undefined;
  /**
   * Gives a spare to the turn's conversation (its folders, its MCP binding) and returns the process's
   * key from now on; throws when it cannot (the spare is then not used).
   */
  adopt(spare: SpareStart, turn: TurnRequest): string;
  /** Removes a spare's folders, or the links an adopted one left. */
  remove(dirs: SpareDirs): void;
  /** Whether the machine has the memory for one more process. */
  roomy(): boolean;
  /** The template of the last new session, remembered across restarts. */
  saved?: SpareTemplate;
  save?(template: SpareTemplate): void;
}

/** How long an interrupted turn may take to wind down before its process is killed. */
const INTERRUPT_GRACE_MS = 3000;

class LiveProcess {
  readonly stream = new ClaudeStream();
  readonly proc: CliProcess;
  readonly startedAt = Date.now();
  /** Set while a spare: its template and folders (kept after it is taken, to remove its links at exit). */
  spare?: SpareStart & { template: SpareTemplate; taken: boolean };
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
    public conversationId: string,
    public key: string,
    command: Command,
    cwd: string,
    session: { sessionId?: string; sessionTurns: number },
    private readonly pool: LivePool,
  ) {
    this.sessionId = session.sessionId;
    this.turns = session.sessionTurns;
    this.proc = startCli(command.bin, command.args, { cwd, env: command.env, uid: command.uid, gid: command.gid, signalInExitCode: command.signalInExitCode, stdin: 'pipe', onLine: (line) => this.onTurnLine?.(line) });
    void this.proc.exited.then(() => pool.forget(this));
  }

  /** Stops it after the idle timeout unless a turn comes first (a turn clears it). */
  idleAfter(ms: number): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => void this.pool.closeProcess(this, 'idle'), ms);
    this.idleTimer.unref();
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
      this.idleAfter(this.pool.options.idleTimeoutMs);
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
  /** Conversations whose process is stopping, until it has exited. */
  private readonly closing = new Map<string, Promise<void>>();
  private readonly spares: LiveProcess[] = [];
  private template?: SpareTemplate;
  private closed = false;

  constructor(readonly options: LivePoolOptions) {
    this.template = options.spares?.saved;
  }

  /** Processes held for conversations and spares, together (what max_processes bounds). */
  get size(): number {
    return this.processes.size + this.spares.length;
  }

  /** The spares waiting now: their pid, session id and start time. */
  get waitingSpares(): { pid: number; sessionId: string; startedAt: number }[] {
    return this.spares.map((s) => ({ pid: s.proc.child.pid ?? 0, sessionId: s.sessionId!, startedAt: s.startedAt }));
  }

  /** The conversation's process, if the pool holds one: its pid and start time. */
  processOf(conversationId: string): { pid: number; startedAt: number; sessionId?: string } | undefined {
    const live = this.processes.get(conversationId);
    return live && { pid: live.proc.child.pid ?? 0, startedAt: live.startedAt, sessionId: live.sessionId };
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
    // The conversation's previous process, still stopping (/new), may write into its folders: a spare moves in after it.
    if (!live) await this.closing.get(turn.conversationId)?.catch(() => {});
    if (!live && !turn.sessionId) live = this.takeSpare(turn);
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

  /**
   * Starts the conversation's process ahead of its turn (its message is queued, next in line), so
   * the CLI's start-up overlaps the hand-off to a worker. Does nothing if the pool holds one for it
   * already, the turn starts a new session (a spare serves that), or there is no idle room.
   */
  prewarm(turn: TurnRequest, args: string[], key: string): boolean {
    if (this.closed || !turn.sessionId || this.processes.has(turn.conversationId)) return false;
    if (!this.makeRoom()) return false;
    const live = this.spawn(turn, args, key);
    live.idleAfter(this.options.idleTimeoutMs);
    this.options.log.debug({ conversationId: turn.conversationId }, 'started a live claude process ahead of its turn');
    return true;
  }

  /** Starts spares up to the configured count, where there is room (also at start-up, from the saved template). */
  refill(): void {
    const spares = this.options.spares;
    if (!spares || this.closed || !this.template) return;
    while (this.spares.length < spares.count && this.size < this.options.maxProcesses && spares.roomy()) {
      const id = crypto.randomUUID();
      let started: SpareStart | undefined;
      try {
        started = spares.start(this.template, id);
      } catch (err) {
        this.options.log.warn({ err }, 'could not start a spare claude process');
        return;
      }
      if (!started) return;
      const live = new LiveProcess('', '', started.command, started.dirs.workspace, { sessionId: id, sessionTurns: 0 }, this);
      live.spare = { ...started, template: this.template, taken: false };
      this.spares.push(live);
      this.options.log.debug({ sessionId: id }, 'started a spare claude process');
    }
  }

  async close(conversationId: string): Promise<void> {
    const live = this.processes.get(conversationId);
    if (live) await this.closeProcess(live, 'released');
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.processes.values(), ...this.spares].map((p) => this.closeProcess(p, 'shutdown')));
  }

  async closeProcess(live: LiveProcess, why: string): Promise<void> {
    this.forget(live);
    this.options.log.debug({ conversationId: live.conversationId, why }, 'stopping live claude process');
    const closed = live.close();
    const id = live.conversationId;
    if (id) {
      this.closing.set(id, closed);
      const done = () => void (this.closing.get(id) === closed && this.closing.delete(id));
      closed.then(done, done);
    }
    await closed;
  }

  forget(live: LiveProcess): void {
    if (this.processes.get(live.conversationId) === live) this.processes.delete(live.conversationId);
    const i = this.spares.indexOf(live);
    if (i >= 0) this.spares.splice(i, 1);
    // A conversation's process left: its slot may go to a spare.
    if (i < 0 && !this.closed) this.refillSoon();
    if (live.spare && live.proc.done) {
      // Exited: its folders (never taken) or the links to the conversation's (taken) go.
      try {
        this.options.spares?.remove(live.spare.dirs);
      } catch (err) {
        this.options.log.warn({ err }, 'could not remove a spare\'s folders');
      }
      live.spare = undefined;
    }
  }

  /** A waiting spare with the flags this new session needs, moved to its conversation; undefined if none. */
  private takeSpare(turn: TurnRequest): LiveProcess | undefined {
    const spares = this.options.spares;
    const template = spares?.templateOf(turn);
    if (!spares || !template) return undefined;
    if (this.template?.key !== template.key) {
      // Spares are made for the kind of conversation started last: from now on, this kind.
      this.template = template;
      spares.save?.(template);
      for (const old of this.spares.filter((s) => s.spare!.template.key !== template.key)) void this.closeProcess(old, 'template changed');
    }
    const i = this.spares.findIndex((s) => s.spare!.template.key === template.key && s.proc.alive);
    const live = i >= 0 ? this.spares.splice(i, 1)[0] : undefined;
    if (live) {
      try {
        live.key = spares.adopt(live.spare!, turn);
        live.spare!.taken = true;
        live.conversationId = turn.conversationId;
        this.processes.set(turn.conversationId, live);
        this.options.log.debug({ conversationId: turn.conversationId, sessionId: live.sessionId }, 'a spare claude process takes a new session');
      } catch (err) {
        this.options.log.warn({ err, conversationId: turn.conversationId }, 'could not move a spare to its conversation; starting a process of its own');
        void this.closeProcess(live, 'not adopted');
        this.refillSoon();
        return undefined;
      }
    }
    // The replacement starts now, while this turn runs (or, with no spare, for the next new session).
    this.refillSoon();
    return live;
  }

  private refillSoon(): void {
    setImmediate(() => this.refill());
  }

  private spawn(turn: TurnRequest, args: string[], key: string): LiveProcess {
    const live = new LiveProcess(turn.conversationId, key, this.options.command(turn, args), turn.cwd, turn, this);
    this.processes.set(turn.conversationId, live);
    return live;
  }

  /**
   * Frees a slot if the pool is full: a spare goes first (it is only a head start), else the least
   * recently used idle process (in the background).
   */
  private makeRoom(): boolean {
    if (this.size < this.options.maxProcesses) return true;
    const spare = this.spares[0];
    if (spare) {
      void this.closeProcess(spare, 'room for a conversation');
      return true;
    }
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
