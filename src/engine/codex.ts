/**
 * The Codex engine: `codex exec --json ... -` for a new thread, `codex exec --json ... resume <id> -`
 * to continue one; the prompt goes on stdin. Its events (thread.started, turn.started, item.*,
 * turn.completed/failed, error) map onto the common engine events. Codex reports no cost.
 */
import crypto from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { cleanEnv } from '../sandbox/env.js';
import { sandboxFailure, type Command, type Sandbox } from '../sandbox/index.js';
import { findExecutable } from './process.js';
import { runOnce } from './run-once.js';
import { binaryOf, cliMissingError, runOutcome, versionCheck, type OtherCliInfo } from './other-cli.js';
import { contextText, type Engine, type EngineCheck, type EngineEvent, type TurnOutcome, type TurnRequest, type Usage } from './types.js';

const INFO: OtherCliInfo = {
  title: 'Codex', binary: 'codex', npmPackage: '@openai/codex', key: 'codex',
  login: 'On the gateway machine run `codex login`, or give cligate OPENAI_API_KEY (or set the provider\'s key in engine.codex.env).',
};

export interface CodexOptions {
  codex: Config['engine']['codex'];
  jobTimeoutS: number;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  sandbox: Sandbox;
}

export class CodexEngine implements Engine {
  readonly name = 'codex' as const;
  readonly bin: string;

  constructor(private readonly options: CodexOptions) {
    this.bin = binaryOf(INFO, options.codex.path);
  }

  /** The CLI's environment: the gateway's allowed variables, then engine.codex.env. */
  env(): NodeJS.ProcessEnv {
    return cleanEnv('codex', this.options.env ?? process.env, this.options.codex.env);
  }

  args(turn: TurnRequest): string[] {
    const c = this.options.codex;
    const args = ['exec', '--json', '--skip-git-repo-check'];
    if (c.model) args.push('-m', c.model);
    // Codex takes extra instructions as configuration (a TOML string; a JSON string is one).
    const instructions = [turn.systemPrompt, contextText(turn.context)].filter(Boolean).join('\n\n');
    if (instructions) args.push('-c', `developer_instructions=${JSON.stringify(instructions)}`);
    args.push(...c.extra_args);
    if (turn.sessionId) args.push('resume', turn.sessionId);
    args.push('-'); // the prompt comes on stdin: a prompt starting with "-" is not an option
    return args;
  }

  async run(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome> {
    if (!findExecutable(this.bin)) return { ok: false, text: '', costUsd: 0, durationMs: 0, error: cliMissingError(INFO, this.bin) };
    const parser = new CodexStream();
    let command: Command;
    try {
      command = this.options.sandbox.command({
        engine: 'codex', conversationId: turn.conversationId, cwd: turn.cwd,
        bin: this.bin, args: this.args(turn), env: cleanEnv('codex', this.options.env ?? process.env, this.options.codex.env),
      });
    } catch (err) {
      return sandboxFailure(err);
    }
    const run = await runOnce({
      ...command, cwd: turn.cwd,
      input: turn.prompt, timeoutMs: this.options.jobTimeoutS * 1000, signal, onEvent,
      onLine: (line) => {
        for (const event of parser.push(line)) onEvent(event);
      },
    });
    return runOutcome(INFO, this.bin, this.options.jobTimeoutS, run, {
      sessionId: parser.threadId, usage: parser.usage, text: parser.lastMessage, completed: parser.completed, failure: parser.failure,
    }, /session.*not found|no .*session|thread.*not found|no rollout found/i);
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {}

  check(): Promise<EngineCheck> {
    return versionCheck(INFO, this.bin, cleanEnv('codex', this.options.env ?? process.env, this.options.codex.env));
  }
}

/** Parser of `codex exec --json` lines. */
export class CodexStream {
  threadId?: string;
  lastMessage = '';
  completed = false;
  failure?: string;
  usage?: Usage;
  private shown = new Map<string, string>();

  push(line: string): EngineEvent[] {
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      return [];
    }
    switch (ev?.type) {
      case 'thread.started':
        this.threadId = String(ev.thread_id ?? '') || undefined;
        return this.threadId ? [{ type: 'init', sessionId: this.threadId }] : [];
      case 'item.started':
      case 'item.updated':
      case 'item.completed':
        return this.item(ev.type, ev.item ?? {});
      case 'turn.completed':
        this.completed = true;
        this.usage = { inputTokens: Number(ev.usage?.input_tokens) || 0, outputTokens: Number(ev.usage?.output_tokens) || 0 };
        return [];
      case 'turn.failed':
        this.failure = String(ev.error?.message ?? 'turn failed');
        return [];
      case 'error': {
        const message = String(ev.message ?? '');
        // "Reconnecting... 2/5" is progress; anything else is the failure, unless a turn.failed follows.
        if (/^Reconnecting/i.test(message)) return [{ type: 'retry', attempt: Number(/(\d+)\//.exec(message)?.[1]) || 0, maxRetries: Number(/\/(\d+)/.exec(message)?.[1]) || 0, delayMs: 0, status: null }];
        this.failure ??= message;
        return [];
      }
      default:
        return [];
    }
  }

  private item(phase: string, item: any): EngineEvent[] {
    const id = String(item.id ?? crypto.randomUUID());
    switch (item.type) {
      case 'agent_message': {
        const text = String(item.text ?? '');
        const before = this.shown.get(id) ?? '';
        this.shown.set(id, text);
        if (phase === 'item.completed') this.lastMessage = text;
        // Codex sends whole texts; pass on what is new (all of it, if it changed otherwise).
        const delta = text.startsWith(before) ? text.slice(before.length) : text;
        return delta ? [{ type: 'text', text: delta }] : [];
      }
      case 'command_execution':
        if (phase === 'item.started') return [{ type: 'tool_use', id, name: 'command', summary: `running: ${clip(String(item.command ?? ''))}` }];
        if (phase === 'item.completed') return [{ type: 'tool_result', id, isError: Number(item.exit_code ?? 0) !== 0 }];
        return [];
      case 'file_change':
        if (phase !== 'item.completed') return [];
        return [{ type: 'tool_use', id, name: 'file_change', summary: `editing ${clip((item.changes ?? []).map((c: any) => c.path).join(', '))}` }];
      case 'mcp_tool_call':
        return phase === 'item.started' ? [{ type: 'tool_use', id, name: 'mcp', summary: `using ${item.server}/${item.tool}` }] : [];
      case 'web_search':
        return phase === 'item.started' ? [{ type: 'tool_use', id, name: 'web_search', summary: `searching the web: ${clip(String(item.query ?? ''))}` }] : [];
      default:
        // reasoning, todo lists, and "error" items (Codex's warnings) are not part of the answer.
        return [];
    }
  }
}

function clip(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? one.slice(0, 79) + '…' : one;
}
