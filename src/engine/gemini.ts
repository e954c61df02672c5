/**
 * The Gemini engine: `gemini -o stream-json -m <model> -p ''` with the prompt on stdin; a new
 * session gets an id chosen here (--session-id), a later turn resumes it (--resume <id>). Its
 * events (init, message with delta, tool_use, tool_result, result) map onto the common ones.
 */
import crypto from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { cleanEnv } from '../sandbox/env.js';
import { sandboxFailure, type Command, type Sandbox } from '../sandbox/index.js';
import { findExecutable } from './process.js';
import { runOnce } from './run-once.js';
import { binaryOf, cliMissingError, framedPrompt, runOutcome, versionCheck, type OtherCliInfo } from './other-cli.js';
import type { Engine, EngineCheck, EngineEvent, TurnOutcome, TurnRequest, Usage } from './types.js';

const INFO: OtherCliInfo = {
  title: 'Gemini', binary: 'gemini', npmPackage: '@google/gemini-cli', key: 'gemini',
  login: 'On the gateway machine run `gemini` once and log in, or give cligate GEMINI_API_KEY with "security.auth.selectedType" = "gemini-api-key" in ~/.gemini/settings.json.',
};

export interface GeminiOptions {
  gemini: Config['engine']['gemini'];
  jobTimeoutS: number;
  log: Logger;
  env?: NodeJS.ProcessEnv;
  sandbox: Sandbox;
}

export class GeminiEngine implements Engine {
  readonly name = 'gemini' as const;
  readonly bin: string;

  constructor(private readonly options: GeminiOptions) {
    this.bin = binaryOf(INFO, options.gemini.path);
  }

  args(turn: TurnRequest, newSessionId: string): string[] {
    const g = this.options.gemini;
    // --skip-trust: the workspace is the conversation's own folder, made by cligate.
    const args = ['-o', 'stream-json', '--skip-trust'];
    if (g.model) args.push('-m', g.model);
    args.push(...(turn.sessionId ? ['--resume', turn.sessionId] : ['--session-id', newSessionId]));
    args.push(...g.extra_args);
    args.push('-p', ''); // headless; the prompt itself comes on stdin
    return args;
  }

  async run(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome> {
    if (!findExecutable(this.bin)) return { ok: false, text: '', costUsd: 0, durationMs: 0, error: cliMissingError(INFO, this.bin) };
    const parser = new GeminiStream();
    let command: Command;
    try {
      command = this.options.sandbox.command({
        engine: 'gemini', conversationId: turn.conversationId, cwd: turn.cwd,
        bin: this.bin, args: this.args(turn, crypto.randomUUID()), env: cleanEnv('gemini', this.options.env ?? process.env, this.options.gemini.env),
      });
    } catch (err) {
      return sandboxFailure(err);
    }
    const run = await runOnce({
      ...command, cwd: turn.cwd,
      input: framedPrompt(turn), timeoutMs: this.options.jobTimeoutS * 1000, signal, onEvent,
      onLine: (line) => {
        for (const event of parser.push(line)) onEvent(event);
      },
      finished: () => parser.result !== undefined,
    });
    return runOutcome(INFO, this.bin, this.options.jobTimeoutS, run, {
      sessionId: parser.sessionId, usage: parser.usage, text: parser.text,
      completed: parser.result?.status === 'success', failure: parser.result && parser.result.status !== 'success' ? parser.result.error : undefined,
    }, /No (previous )?session|session .* not found|Invalid session/i);
  }

  async release(): Promise<void> {}

  async close(): Promise<void> {}

  check(): Promise<EngineCheck> {
    return versionCheck(INFO, this.bin, cleanEnv('gemini', this.options.env ?? process.env, this.options.gemini.env));
  }
}

/** Parser of `gemini -o stream-json` lines. */
export class GeminiStream {
  sessionId?: string;
  text = '';
  result?: { status: string; error: string };
  usage?: Usage;
  private afterTool = false;

  push(line: string): EngineEvent[] {
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      return [];
    }
    switch (ev?.type) {
      case 'init':
        this.sessionId = typeof ev.session_id === 'string' ? ev.session_id : undefined;
        return this.sessionId ? [{ type: 'init', sessionId: this.sessionId, model: ev.model }] : [];
      case 'message': {
        if (ev.role !== 'assistant' || typeof ev.content !== 'string') return [];
        // The answer is what comes after the last tool call.
        if (this.afterTool) this.text = '';
        this.afterTool = false;
        this.text = ev.delta ? this.text + ev.content : ev.content;
        return [{ type: 'text', text: ev.content }];
      }
      case 'tool_use':
        this.afterTool = true;
        return [{ type: 'tool_use', id: String(ev.tool_id ?? ''), name: String(ev.tool_name ?? 'tool'), summary: `using ${ev.tool_name ?? 'a tool'}` }];
      case 'tool_result':
        return [{ type: 'tool_result', id: String(ev.tool_id ?? ''), isError: ev.status === 'error' }];
      case 'result':
        this.result = { status: String(ev.status ?? ''), error: String(ev.error?.message ?? ev.error ?? '') };
        this.usage = { inputTokens: Number(ev.stats?.input_tokens) || 0, outputTokens: Number(ev.stats?.output_tokens) || 0 };
        return [];
      default:
        return [];
    }
  }
}
