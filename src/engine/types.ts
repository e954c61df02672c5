/**
 * What every engine (Claude Code, Codex, Gemini) looks like to the rest of cligate: a turn goes in,
 * typed events stream out while it runs, and one outcome comes back. Each CLI's own output format is
 * parsed inside its engine, once, into these types.
 */
import type { Decision, PermissionAsk } from '../approvals/types.js';
import type { EngineName } from '../config/schema.js';

export type { EngineName };

export interface TurnRequest {
  /** Stable key of the conversation, for live processes. */
  conversationId: string;
  prompt: string;
  /** The engine's own session id to continue; undefined starts a new session. */
  sessionId?: string;
  /** How many turns the session has had, as the database knows it (a live process that saw fewer is stale). */
  sessionTurns: number;
  /** The conversation's workspace folder. */
  cwd: string;
  /** Added to the engine's system prompt; the same for every turn of a conversation. */
  systemPrompt: string;
  /** Context for this turn only (recalled memories). */
  context?: ContextBlock[];
  /** MCP servers for this turn, as the JSON `--mcp-config` takes. */
  mcpConfig?: string;
  /** The same servers for a spare process, started before its conversation is known (memory over http). */
  mcpSpare?: McpSpare;
  /** The CLI's `--permission-mode` for this turn; undefined: the configured one. */
  permissionMode?: string;
  /** Tool rules a person chose to keep for this conversation ("Bash(npm test *)"), allowed without asking. */
  allowRules?: string[];
  /**
   * Asks a person (tool approval, a question, a plan) and resolves with their decision. The turn is
   * paused meanwhile and its timeout does not run. Undefined: nobody can be asked; requests are denied.
   */
  ask?: (ask: PermissionAsk, signal: AbortSignal) => Promise<Decision>;
}

export interface McpSpare {
  /** An `--mcp-config` whose servers answer once bound; undefined: none can be had now. */
  reserve(): string | undefined;
  /** Binds a config `reserve` gave to this turn's conversation (once); false if it cannot. */
  adopt(config: string): boolean;
}

/**
 * Context recalled for one turn: a heading and its items. Kept as items so a live process, which
 * keeps everything it was told, is given only the items it has not seen yet.
 */
export interface ContextBlock {
  heading: string;
  items: string[];
}

/** Context as text for a prompt: each block's heading, then its items one per line. */
export function contextText(blocks: ContextBlock[] | undefined): string {
  return (blocks ?? []).filter((b) => b.items.length).map((b) => [b.heading, ...b.items].join('\n')).join('\n\n');
}

export type EngineEvent =
  | { type: 'init'; sessionId: string; model?: string }
  /** The CLI process running the turn (so a crashed worker's orphan can be stopped). */
  | { type: 'process'; pid: number }
  /** A piece of answer text, as it is written. */
  | { type: 'text'; text: string }
  /** The engine used a tool; `summary` is one short line for people ("running: npm test"). */
  | { type: 'tool_use'; id: string; name: string; summary: string }
  /** `summary`: the first line of what the tool returned, where the engine says. */
  | { type: 'tool_result'; id: string; isError: boolean; summary?: string }
  /** The CLI itself is retrying an API call. */
  | { type: 'retry'; attempt: number; maxRetries: number; delayMs: number; status: number | null }
  /** Something the user should know that is not part of the answer (a denied tool, a fresh session). */
  | { type: 'notice'; text: string };

export type EngineErrorCode =
  | 'cli_missing'
  | 'not_logged_in'
  | 'rate_limited'
  | 'overloaded'
  | 'api_error'
  | 'api_unreachable'
  | 'session_missing'
  | 'max_turns'
  | 'timeout'
  | 'cancelled'
  | 'crashed'
  | 'bad_output'
  | 'refused'
  | 'engine_error';

/** Why a message was not answered normally: an engine's failure, or the gateway's own reasons. */
export type MessageErrorCode =
  | EngineErrorCode
  /** Refused at intake: empty, over a limit. */
  | 'empty' | 'too_long' | 'rate_limited' | 'over_budget'
  /** A message kind the adapter cannot pass on (a sticker, a poll, a location). */
  | 'unsupported'
  /** A voice note that could not be heard (off, too long, undecodable, the backend failed): src/voice/. */
  | 'voice_failed'
  /** The engine configured for the conversation cannot run. */
  | 'engine_unavailable'
  /** Interrupted by crashes more than worker.max_attempts times. */
  | 'gave_up'
  /** The conversation was deleted while the message waited. */
  | 'no_conversation';

/** A failure, as a value: `message` is written for the person in the chat and names the fix. */
export interface EngineError {
  code: EngineErrorCode;
  message: string;
  /** Worth running the turn again after a pause (rate limits, overload, transient API errors). */
  retryable: boolean;
  /** Raw detail for the log (stderr tail, exit code); never shown to users. */
  detail?: string;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
}

export interface TurnOutcome {
  ok: boolean;
  /** The final answer (on failure: whatever was written before it). */
  text: string;
  sessionId?: string;
  /** Cost of this turn in USD, where the CLI reports one. */
  costUsd: number;
  usage?: Usage;
  durationMs: number;
  error?: EngineError;
}

export interface EngineCheck {
  ok: boolean;
  /** One line: what was found, or what is wrong and how to fix it. */
  message: string;
}

export interface Engine {
  readonly name: EngineName;
  /** Runs one turn. Never throws: failures come back as `outcome.error`. */
  run(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome>;
  /** Start what can be started ahead of need (spare processes). */
  warm?(): void;
  /** Start the conversation's process ahead of this turn, which is next in line; true if one was started. */
  prewarm?(turn: TurnRequest): boolean;
  /** Whether it keeps this conversation's CLI running between turns now (a live process). */
  holdsLive?(conversationId: string): boolean;
  /** Forget any live state of the conversation (after /new, /forget, /stop or a config change). */
  release(conversationId: string): Promise<void>;
  /** Can the CLI start and reach its API? For `cligate doctor` and /healthz. */
  check(deep: boolean): Promise<EngineCheck>;
  close(): Promise<void>;
}

export function engineError(code: EngineErrorCode, message: string, retryable = false, detail?: string): EngineError {
  return { code, message, retryable, detail };
}
