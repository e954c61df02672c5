/**
 * Parser of `claude -p --output-format stream-json --verbose --include-partial-messages`: one JSON
 * object per line in, typed engine events out, and the `result` line kept for the outcome.
 * Unknown types and subtypes are ignored, as the CLI adds new ones between versions.
 */
import type { EngineEvent, Usage } from '../types.js';
import { controlRequestOf, type ControlRequest } from './control.js';

export interface ClaudeResult {
  isError: boolean;
  subtype: string;
  /** The final answer text (absent on some errors). */
  text: string;
  sessionId: string;
  /** As reported: cumulative over the life of a long-lived process. */
  totalCostUsd: number;
  usage?: Usage;
  numTurns: number;
  durationMs: number;
  terminalReason: string;
  apiErrorStatus: number | null;
  errors: string[];
  permissionDenials: string[];
}

export class ClaudeStream {
  sessionId?: string;
  model?: string;
  result?: ClaudeResult;
  /** Kind of the API error the CLI reported in a synthetic assistant message ("rate_limit", "authentication_failed"...). */
  apiErrorKind?: string;
  /** Lines that were not JSON objects. */
  garbage = 0;
  lines = 0;
  /** The answer text streamed so far in this turn. */
  streamedText = '';
  /** Requests the CLI is waiting on (`--permission-prompt-tool stdio`), not yet taken by the runner. */
  private controls: ControlRequest[] = [];
  /** Inputs of this turn's tool calls by id: a control request may leave its input out (ExitPlanMode's plan). */
  private readonly toolInputs = new Map<string, Record<string, unknown>>();

  /** The control requests received since the last call; the runner must answer each. */
  takeControlRequests(): ControlRequest[] {
    const taken = this.controls;
    this.controls = [];
    return taken;
  }

  /** Parses one line and returns the events it carries. */
  push(line: string): EngineEvent[] {
    this.lines++;
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      this.garbage++;
      return [];
    }
    if (typeof ev !== 'object' || ev === null || typeof ev.type !== 'string') {
      this.garbage++;
      return [];
    }
    switch (ev.type) {
      case 'system':
        return this.system(ev);
      case 'stream_event':
        return this.streamEvent(ev);
      case 'assistant':
        return this.assistant(ev);
      case 'user':
        return this.user(ev);
      case 'control_request': {
        const request = controlRequestOf(ev);
        if (!request) return [];
        const known = this.toolInputs.get(String(request.body.tool_use_id ?? ''));
        if (known) request.body = { ...request.body, input: { ...known, ...(request.body.input ?? {}) } };
        this.controls.push(request);
        return [];
      }
      case 'result':
        this.result = parseResult(ev);
        if (this.result.sessionId) this.sessionId = this.result.sessionId;
        return [];
      default:
        return [];
    }
  }

  /** Ready for the next turn of a long-lived process. */
  resetTurn(): void {
    this.result = undefined;
    this.apiErrorKind = undefined;
    this.streamedText = '';
    this.toolInputs.clear();
  }

  private system(ev: any): EngineEvent[] {
    if (ev.subtype === 'init' && typeof ev.session_id === 'string') {
      this.sessionId = ev.session_id;
      this.model = typeof ev.model === 'string' ? ev.model : undefined;
      return [{ type: 'init', sessionId: ev.session_id, model: this.model }];
    }
    if (ev.subtype === 'api_retry') {
      return [{
        type: 'retry',
        attempt: Number(ev.attempt) || 0,
        maxRetries: Number(ev.max_retries) || 0,
        delayMs: Number(ev.retry_delay_ms) || 0,
        status: typeof ev.error_status === 'number' ? ev.error_status : null,
      }];
    }
    if (ev.subtype === 'permission_denied') {
      return [{ type: 'notice', text: `Permission denied: ${String(ev.tool_name ?? 'a tool')} needs approval (see engine.claude.permission_mode and allowed_tools).` }];
    }
    return [];
  }

  private streamEvent(ev: any): EngineEvent[] {
    // Sub-agents stream too; only the main agent writes the answer.
    if (ev.parent_tool_use_id) return [];
    const inner = ev.event;
    if (inner?.type === 'content_block_delta' && inner.delta?.type === 'text_delta' && typeof inner.delta.text === 'string') {
      this.streamedText += inner.delta.text;
      return [{ type: 'text', text: inner.delta.text }];
    }
    return [];
  }

  private assistant(ev: any): EngineEvent[] {
    if (ev.is_api_error_message || ev.message?.model === '<synthetic>') {
      if (typeof ev.error === 'string') this.apiErrorKind = ev.error;
      return [];
    }
    const events: EngineEvent[] = [];
    for (const block of asArray(ev.message?.content)) {
      if (block?.type === 'tool_use' && typeof block.name === 'string') {
        if (block.input && typeof block.input === 'object') this.toolInputs.set(String(block.id ?? ''), block.input);
        events.push({ type: 'tool_use', id: String(block.id ?? ''), name: block.name, summary: summarizeTool(block.name, block.input) });
      }
    }
    return events;
  }

  private user(ev: any): EngineEvent[] {
    const events: EngineEvent[] = [];
    for (const block of asArray(ev.message?.content)) {
      if (block?.type === 'tool_result') {
        events.push({ type: 'tool_result', id: String(block.tool_use_id ?? ''), isError: block.is_error === true, summary: firstLine(block.content) });
      }
    }
    return events;
  }
}

function parseResult(ev: any): ClaudeResult {
  const usage = ev.usage && typeof ev.usage === 'object'
    ? { inputTokens: Number(ev.usage.input_tokens) || 0, outputTokens: Number(ev.usage.output_tokens) || 0 }
    : undefined;
  return {
    isError: ev.is_error === true,
    subtype: String(ev.subtype ?? ''),
    text: typeof ev.result === 'string' ? ev.result : '',
    sessionId: typeof ev.session_id === 'string' ? ev.session_id : '',
    totalCostUsd: Number(ev.total_cost_usd) || 0,
    usage,
    numTurns: Number(ev.num_turns) || 0,
    durationMs: Number(ev.duration_ms) || 0,
    terminalReason: String(ev.terminal_reason ?? ''),
    apiErrorStatus: typeof ev.api_error_status === 'number' ? ev.api_error_status : null,
    errors: asArray(ev.errors).map(String),
    permissionDenials: asArray(ev.permission_denials).map((d: any) => String(d?.tool_name ?? '')),
  };
}

function asArray(value: unknown): any[] {
  return Array.isArray(value) ? value : [];
}

/** One short line saying what a tool call does, for the status line in the chat. */
export function summarizeTool(name: string, input: any): string {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const clip = (s: string) => {
    const one = s.replace(/\s+/g, ' ').trim();
    return one.length > 80 ? one.slice(0, 79) + '…' : one;
  };
  switch (name) {
    case 'Bash':
      return `running: ${clip(str(input?.command))}`;
    case 'Read':
      return `reading ${clip(str(input?.file_path))}`;
    case 'Edit':
    case 'MultiEdit':
    case 'Write':
    case 'NotebookEdit':
      return `editing ${clip(str(input?.file_path) || str(input?.notebook_path))}`;
    case 'Grep':
    case 'Glob':
      return `searching for ${clip(str(input?.pattern))}`;
    case 'WebFetch':
      return `fetching ${clip(str(input?.url))}`;
    case 'WebSearch':
      return `searching the web: ${clip(str(input?.query))}`;
    case 'Task':
    case 'Agent':
      return `delegating: ${clip(str(input?.description))}`;
    default:
      return `using ${name.startsWith('mcp__') ? name.split('__').slice(1).join('/') : name}`;
  }
}

/** The first non-empty line of a tool result's content (a string or text blocks), shortened. */
function firstLine(content: unknown): string | undefined {
  const text = typeof content === 'string' ? content : asArray(content).map((b: any) => (typeof b?.text === 'string' ? b.text : '')).join('\n');
  const line = text.split('\n').map((l: string) => l.trim()).find(Boolean);
  return line && (line.length > 160 ? `${line.slice(0, 159)}…` : line);
}
