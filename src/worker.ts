/**
 * The worker: drains one conversation, one message at a time, in order. For each message it runs a
 * turn of the conversation's engine in the conversation's workspace, streams progress on the bus,
 * and then, in one transaction, records the outcome, the session, the transcript and the reply in
 * the outbox. A crash before that transaction leaves the message to be run again; after it, the
 * reply is on its way and the message is never run twice.
 */
import fs from 'node:fs';
import { localProcessOf, processRecord } from './process-id.js';
import { platformNamed } from '../adapters/index.js';
import type { ApprovalDesk } from './approvals/index.js';
import { PERMISSION_MODES, type PermissionMode } from './approvals/types.js';
import type { Bus, JobEvent } from './bus.js';
import type { Config } from './config/schema.js';
import type { Engines } from './engine/index.js';
import type { ContextBlock, Engine, EngineError, McpSpare, MessageErrorCode, EngineEvent, EngineName, TurnOutcome, TurnRequest } from './engine/types.js';
import type { Logger } from './log.js';
import type { Platform, SavedFile } from './message.js';
import type { DrainSignal } from './queue/types.js';
import type { SessionHolds } from './terminal/holds.js';
import type { Conversation, Message, Session } from './store/db.js';
import type { Store } from './store/index.js';
import { scheduleHeading } from './schedules/heading.js';
import { ensureWorkspace, workspacePath } from './workspace.js';
import { changesSince, snapshotWorkspace, type FileChange } from './workspace-changes.js';
import { hearVoiceNotes, type Transcript } from './voice/hear.js';
import type { Voice } from './voice/index.js';

/** Extra work around a turn (long-term memory hooks in here). */
export interface TurnHooks {
  /** Context for this turn (recalled memories). */
  context?(message: Message, conversation: Conversation): Promise<ContextBlock[]>;
  /** MCP config JSON to give the engine for this turn. */
  mcpConfig?(message: Message, conversation: Conversation): string | undefined;
  /** The same for a spare process that this conversation may take (see engine/claude/live.ts). */
  mcpSpare?(message: Message, conversation: Conversation): McpSpare | undefined;
  /** After an answered turn. */
  answered?(message: Message, conversation: Conversation, answer: string): Promise<void>;
}

export interface WorkerDeps {
  store: Store;
  bus: Bus;
  engines: Engines;
  config: Config;
  log: Logger;
  /** Where a paused turn asks a person (tool approvals, questions, plans). */
  desk: ApprovalDesk;
  hooks?: TurnHooks;
  /** Sessions held by interactive terminal tabs: their conversations' messages wait (src/terminal/holds.ts). */
  holds?: SessionHolds;
  /** Hears voice notes before the turn (src/voice/); without it, audio is passed on as a file. */
  voice?: Voice;
}

type StopReason = 'cancel' | 'shutdown';

export class TurnWorker {
  constructor(private readonly deps: WorkerDeps) {}

  /** The queue's drain function: runs the conversation's messages until none is left. */
  drain = async (conversationId: string, signal: DrainSignal): Promise<void> => {
    while (!signal.stopping) {
      const message = this.deps.store.messages.next(conversationId);
      if (!message) return;
      if (await this.waitForTab(message, signal)) return;
      const requeued = await this.runMessage(message, signal);
      if (requeued) return;
    }
  };

  /**
   * While a terminal tab holds the conversation's session, its message waits (the person is told why
   * once), so two CLIs never write one session. True when the gateway stops meanwhile (it stays queued).
   */
  private async waitForTab(message: Message, signal: DrainSignal): Promise<boolean> {
    const holds = this.deps.holds;
    const holder = holds?.holder(message.conversation_id);
    if (!holds || !holder) return false;
    this.deps.bus.publish({
      type: 'status', conversationId: message.conversation_id, messageId: message.id,
      text: `${holder} holds this conversation's session: this message waits and runs when the tab is closed.`,
    });
    while (holds.holder(message.conversation_id) && !signal.stopping) await holds.released(message.conversation_id, 500);
    return signal.stopping;
  }

  /** Runs one message. Returns true when shutdown interrupted it and it was put back in the queue. */
  private async runMessage(queued: Message, drainSignal: DrainSignal): Promise<boolean> {
    const { store, bus, config, log } = this.deps;
    const ref = { conversationId: queued.conversation_id, messageId: queued.id };
    if (queued.status === 'running' && queued.engine_process) {
      // A crash left this turn half-done: its CLI may still be running on the session. Stop it first.
      await stopOrphan(queued.engine_process, log);
    }
    if (queued.cancel_requested) {
      store.messages.finish(queued.id, 'cancelled', { errorCode: 'cancelled' });
      bus.publish({ type: 'finished', ...ref, status: 'cancelled', text: '', costUsd: 0, durationMs: 0, errorCode: 'cancelled' });
      return false;
    }
    const message = store.messages.markRunning(queued.id);
    if (!message) return false;
    const conversation = store.conversations.get(message.conversation_id);
    if (!conversation) {
      // Deleted (/forget) while this waited: nobody is left to answer.
      store.messages.finish(message.id, 'failed', { errorCode: 'no_conversation' });
      bus.publish({ type: 'finished', ...ref, status: 'failed', text: '', costUsd: 0, durationMs: 0, errorCode: 'no_conversation' });
      return false;
    }
    if (message.attempts > config.worker.max_attempts) {
      log.error({ messageId: message.id, attempts: message.attempts }, 'message keeps crashing its worker; giving up');
      this.finish(message, conversation, undefined, failure('gave_up', `This message was interrupted ${message.attempts - 1} times (the worker stopped while answering it), so I gave up on it. The conversation still works: send it again or ask something else.`));
      return false;
    }

    const engine = this.deps.engines.for(conversation);
    if ('error' in engine) {
      this.finish(message, conversation, undefined, failure('engine_unavailable', engine.error));
      return false;
    }
    // A voice note is heard first: its transcript is shown ("heard: ...") and is the prompt.
    const heard = this.deps.voice ? await hearVoiceNotes(message, conversation, { ...this.deps, voice: this.deps.voice }) : { ok: true as const, transcripts: [] };
    if (!heard.ok) {
      this.finish(message, conversation, undefined, failure('voice_failed', heard.text));
      return false;
    }
    // Memory recalls for, and remembers, what was said, not an empty caption.
    const said = heard.transcripts.length ? { ...message, text: [message.text, ...heard.transcripts.map((t) => t.text)].filter(Boolean).join('\n\n') } : message;
    const session = this.sessionFor(conversation, engine.name);
    this.deps.desk.expireEarlierAttempts(message);
    bus.publish({ type: 'started', ...ref, attempt: message.attempts, engine: engine.name });
    // What the turn changes in its workspace is listed under its answer.
    const before = await snapshotWorkspace(session.workspace);

    const abort = new AbortController();
    const stop = (reason: StopReason) => {
      if (!abort.signal.aborted) abort.abort(reason);
    };
    const unsubscribe = bus.subscribe((event) => {
      if (event.type === 'stop' && event.conversationId === conversation.id) stop('cancel');
    });
    const poll = setInterval(() => {
      if (store.messages.cancelRequested(message.id)) stop('cancel');
    }, 500);
    const onHardStop = () => stop('shutdown');
    if (drainSignal.hardStop.aborted) onHardStop();
    else drainSignal.hardStop.addEventListener('abort', onHardStop, { once: true });

    let outcome: TurnOutcome;
    const notices: string[] = [];
    const tools = { used: false };
    try {
      // Context first: memory's hook also starts the MCP server that mcpConfig names.
      const context = await this.context(said, conversation);
      const turn: TurnRequest = {
        ...this.turnOf(message, conversation, session),
        prompt: promptOf(message, heard.transcripts),
        context,
        ask: (ask, askSignal) => this.deps.desk.ask(message, conversation, ask, askSignal),
      };
      outcome = await this.runWithRetries(engine, turn, session, ref, abort.signal, notices, tools);
      if (outcome.error?.code === 'session_missing') {
        // The CLI lost the session (deleted, or another machine's): start a fresh one and say so.
        store.conversations.clearEngineSession(session.id);
        notices.push(`The previous ${engine.name === 'claude' ? 'Claude' : engine.name === 'codex' ? 'Codex' : 'Gemini'} session could not be found, so this answer starts a new session.`);
        outcome = await this.runWithRetries(engine, { ...turn, sessionId: undefined, sessionTurns: 0 }, session, ref, abort.signal, notices, tools);
      }
    } finally {
      unsubscribe();
      clearInterval(poll);
      drainSignal.hardStop.removeEventListener('abort', onHardStop);
    }

    if (abort.signal.reason === 'shutdown') {
      store.messages.requeue(message.id);
      if (outcome.sessionId) store.conversations.recordTurn(session.id, outcome.sessionId, outcome.costUsd);
      await engine.release(conversation.id);
      log.info({ messageId: message.id }, 'turn interrupted by shutdown; it will run again at next start');
      return true;
    }
    if (abort.signal.reason === 'cancel') {
      outcome = { ...outcome, ok: false, error: { code: 'cancelled', message: 'Stopped.', retryable: false } };
    }
    // Only tools change files (every engine reports each one): a turn without any needs no second look.
    const changes = tools.used ? await changesSince(before) : [];
    this.finish(message, conversation, session, replyFor(outcome, notices), changes);
    if (outcome.ok) {
      await this.deps.hooks?.answered?.(said, conversation, outcome.text).catch((err) => log.warn({ err }, 'after-answer hook failed'));
    }
    return false;
  }

  /** Keeps the activity timeline: a tool call's start, and its end, published with how long it took. */
  private recordTool(event: EngineEvent, ref: { conversationId: string; messageId: number }): JobEvent | undefined {
    const { activity } = this.deps.store;
    if (event.type === 'tool_use') {
      activity.started({ ...ref, toolUseId: event.id, tool: event.name, summary: event.summary });
      return undefined;
    }
    if (event.type !== 'tool_result') return undefined;
    const durationMs = activity.finished(ref.messageId, event.id, event);
    return { type: 'tool_done', ...ref, toolId: event.id, isError: event.isError, durationMs, result: event.summary };
  }

  /**
   * Starts the engine's process for a conversation whose message was just queued, when that
   * message is next in line and the conversation has a session to resume: the CLI starts while the
   * message is handed to a worker (see LivePool.prewarm).
   */
  prewarm(conversationId: string): void {
    const { store, engines } = this.deps;
    const message = store.messages.next(conversationId);
    if (!message || message.status !== 'queued' || message.cancel_requested) return;
    // A terminal tab holding the session is its only writer until it closes.
    if (this.deps.holds?.holder(conversationId)) return;
    const conversation = store.conversations.get(conversationId);
    if (!conversation) return;
    const engine = engines.for(conversation);
    if ('error' in engine || !engine.prewarm) return;
    const session = store.conversations.activeSession(conversation);
    if (!session || session.engine !== engine.name || !session.engine_session_id) return;
    engine.prewarm(this.turnOf(message, conversation, session));
  }

  /** The turn for a message, but for what is fetched for it just before it runs (context) and how it asks. */
  private turnOf(message: Message, conversation: Conversation, session: Session): TurnRequest {
    return {
      conversationId: conversation.id,
      prompt: promptOf(message),
      sessionId: session.engine_session_id ?? undefined,
      sessionTurns: session.turns,
      cwd: ensureWorkspace(session.workspace),
      systemPrompt: this.systemPrompt(conversation),
      mcpConfig: this.deps.hooks?.mcpConfig?.(message, conversation),
      mcpSpare: this.deps.hooks?.mcpSpare?.(message, conversation),
      permissionMode: conversation.permission_mode ? PERMISSION_MODES[conversation.permission_mode as PermissionMode]?.cli : undefined,
      allowRules: this.deps.store.approvals.rules(conversation.id).map((r) => r.rule),
    };
  }

  private async runWithRetries(
    engine: Engine, turn: TurnRequest, session: Session, ref: { conversationId: string; messageId: number },
    signal: AbortSignal, notices: string[], tools: { used: boolean },
  ): Promise<TurnOutcome> {
    const { retry } = this.deps.config;
    const onEvent = (event: EngineEvent) => {
      if (event.type === 'process') {
        this.deps.store.messages.setEngineProcess(ref.messageId, processRecord(event.pid));
        return;
      }
      if (event.type === 'tool_use') tools.used = true;
      const published = this.recordTool(event, ref) ?? toJobEvent(event, ref);
      if (published) this.deps.bus.publish(published);
      if (event.type === 'notice' && !notices.includes(event.text)) notices.push(event.text);
    };
    for (let attempt = 0; ; attempt++) {
      const outcome = await engine.run(turn, onEvent, signal);
      if (outcome.ok || !outcome.error?.retryable || attempt >= retry.attempts || signal.aborted) {
        if (!outcome.ok && outcome.error?.retryable && attempt > 0) {
          outcome.error = { ...outcome.error, message: `${outcome.error.message} I tried ${attempt + 1} times; please try again in a few minutes.` };
        }
        return outcome;
      }
      const delayS = retry.backoff_s[Math.min(attempt, retry.backoff_s.length - 1)]!;
      this.deps.log.warn({ ...ref, code: outcome.error.code, attempt: attempt + 1, delayS }, 'turn failed; retrying');
      this.deps.bus.publish({
        type: 'status', ...ref,
        text: `${outcome.error.message} Retrying in ${delayS} s (attempt ${attempt + 2} of ${retry.attempts + 1}).`,
      });
      if (outcome.sessionId) {
        // The failed attempt is part of the session's history now: count it, and continue that session.
        this.deps.store.conversations.recordTurn(session.id, outcome.sessionId, outcome.costUsd);
        turn = { ...turn, sessionId: outcome.sessionId, sessionTurns: turn.sessionTurns + 1 };
      }
      await sleep(delayS * 1000, signal);
    }
  }

  private sessionFor(conversation: Conversation, engine: EngineName): Session {
    const { store, config } = this.deps;
    const active = store.conversations.activeSession(conversation);
    if (active && active.engine === engine) return active;
    return store.conversations.startSession(conversation.id, engine, workspacePath(config.workspace.root, conversation.id));
  }

  private systemPrompt(conversation: Conversation): string {
    const parts = [gatewayContext(conversation.platform)];
    if (this.deps.config.gateway.system_prompt) parts.push(this.deps.config.gateway.system_prompt);
    return parts.join('\n\n');
  }

  /** Context for this turn only (recalled memories); a failing hook costs the context, not the answer. */
  private async context(message: Message, conversation: Conversation): Promise<ContextBlock[] | undefined> {
    const context = await this.deps.hooks?.context?.(message, conversation).catch((err) => {
      this.deps.log.warn({ err }, 'context hook failed; answering without it');
      return [];
    });
    const blocks = context?.filter((block) => block.items.length);
    return blocks?.length ? blocks : undefined;
  }

  /** Records the outcome, the files the turn changed, and queues the reply, all or nothing. */
  private finish(message: Message, conversation: Conversation, session: Session | undefined, reply: Reply, changes?: FileChange[]): void {
    const { store, bus, config } = this.deps;
    const outcome = reply.outcome;
    const now = Date.now();
    store.db.tx(() => {
      if (session && outcome?.sessionId) store.conversations.recordTurn(session.id, outcome.sessionId, outcome.costUsd, now);
      // A retry replaces what its earlier attempt recorded; a first attempt that changed nothing has nothing to write.
      if (changes && (changes.length || message.attempts > 1)) store.fileChanges.record(conversation.id, message.id, changes, now);
      store.messages.finish(message.id, reply.status, {
        sessionId: session?.id ?? null, errorCode: reply.errorCode ?? null, errorMessage: reply.errorMessage ?? null, costUsd: outcome?.costUsd ?? null,
      }, now);
      if (reply.reply) {
        store.transcript.append(conversation.id, message.id, reply.status === 'done' ? 'assistant' : 'notice', reply.reply, now);
        // Stored whole; the gateway splits it to the platform's size before sending. A schedule's run is headed by its id and name.
        const schedule = message.schedule_id !== null ? store.schedules.get(message.schedule_id) : undefined;
        const text = schedule ? `${scheduleHeading(schedule)}\n\n${reply.reply}` : reply.reply;
        store.outbox.addReply(conversation.id, message.id, text, now + config.outbox.deadline_s * 1000, {}, now);
      }
    });
    bus.publish({
      type: 'finished', conversationId: conversation.id, messageId: message.id, status: reply.status,
      text: reply.reply, sessionId: outcome?.sessionId, costUsd: outcome?.costUsd ?? 0,
      durationMs: outcome?.durationMs ?? 0, usage: outcome?.usage, errorCode: reply.errorCode, errorMessage: reply.errorMessage,
    });
    bus.publish({ type: 'outbox' });
  }
}

interface Reply {
  status: 'done' | 'failed' | 'cancelled';
  /** Empty: nothing to send (a stop before any text). */
  reply: string;
  errorCode?: MessageErrorCode;
  /** Why it failed, for people; `reply` shows it in a chat. */
  errorMessage?: string;
  outcome: TurnOutcome | undefined;
}

/** A failed turn: the chat sees the message behind a warning sign, with any notes below it. */
function failure(code: MessageErrorCode, message: string, notes = '', outcome?: TurnOutcome): Reply {
  return { status: 'failed', reply: `⚠️ ${message}${notes ? `\n\n${notes}` : ''}`, errorCode: code, errorMessage: message, outcome };
}

function replyFor(outcome: TurnOutcome, notices: string[]): Reply {
  const notes = notices.length ? notices.map((n) => `_${n}_`).join('\n') : '';
  if (outcome.ok) {
    const text = outcome.text.trim() || '_(Claude finished without writing an answer.)_';
    return { status: 'done', reply: notes ? `${text}\n\n${notes}` : text, outcome };
  }
  const error = outcome.error as EngineError;
  if (error.code === 'cancelled') {
    const partial = outcome.text.trim();
    return { status: 'cancelled', reply: partial ? `${partial}\n\n_(stopped)_` : '', errorCode: 'cancelled', outcome };
  }
  return failure(error.code, error.message, notes, outcome);
}

function toJobEvent(event: EngineEvent, ref: { conversationId: string; messageId: number }): JobEvent | undefined {
  switch (event.type) {
    case 'text':
      return { type: 'text', ...ref, text: event.text };
    case 'tool_use':
      return { type: 'tool', ...ref, toolId: event.id, tool: event.name, summary: event.summary };
    case 'retry':
      return { type: 'status', ...ref, text: `API busy${event.status ? ` (${event.status})` : ''}; the CLI retries (${event.attempt}/${event.maxRetries})…` };
    default:
      return undefined;
  }
}

/**
 * The message as the engine reads it: the person's text, and where the files they sent were saved.
 * Voice notes that were heard are the words said (after any caption), not files to look at.
 */
export function promptOf(message: Pick<Message, 'text' | 'attachments'>, transcripts: Transcript[] = []): string {
  const heard = new Set(transcripts.map((t) => t.path));
  const files = (message.attachments ? (JSON.parse(message.attachments) as SavedFile[]) : []).filter((f) => !heard.has(f.path));
  if (transcripts.length) message = { ...message, text: [message.text, ...transcripts.map((t) => t.text)].filter(Boolean).join('\n\n') };
  if (!files.length) return message.text;
  const list = files.map((f) => `- ${f.path} (${f.mime ?? 'file'}, ${kb(f.size)})`).join('\n');
  const intro = files.length === 1 ? 'The person attached a file, saved in your working folder:' : 'The person attached files, saved in your working folder:';
  return `${message.text || 'Please look at the attached file.'}\n\n${intro}\n${list}`;
}

function kb(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${Math.round(bytes / 1024)} KB`;
}

/** The short context every turn gets, so Claude knows where its answer ends up. */
export function gatewayContext(platform: Platform): string {
  const where = platformNamed(platform)?.where ?? `a ${platform} chat`;
  return [
    `You are answering through cligate, a gateway that relays messages from ${where} to Claude Code.`,
    'The person reads your answer in a chat window: keep it focused, and use plain Markdown (no HTML).',
    'Your working folder belongs to this conversation alone; files the person sends are saved under ./uploads.',
  ].join(' ');
}

/** Kills the process group of a CLI left behind by a crashed worker of this machine. */
async function stopOrphan(record: string, log: Logger): Promise<void> {
  const pid = localProcessOf(record)?.pid;
  if (!pid || pid === 1) return;
  try {
    // Only if that pid is still one of the engine CLIs (pids get reused). Under bubblewrap the pid is
    // bwrap's, whose command line names the CLI too; killing it takes the sandbox with it (--die-with-parent).
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!/claude|codex|gemini/.test(cmdline)) return;
    process.kill(-pid, 'SIGKILL');
    log.warn({ pid }, 'stopped the CLI a crashed worker left running');
    await new Promise((r) => setTimeout(r, 100));
  } catch {
    /* gone already */
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
