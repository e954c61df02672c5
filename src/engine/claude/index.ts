/**
 * The Claude Code engine: runs the real `claude` binary headless, one turn at a time per conversation.
 *
 * Two ways to run a turn, same events and outcome:
 * - one-shot: `claude -p --input-format stream-json ... [--resume <id>]`, a process per turn;
 * - live: one long-lived process of the same kind per active conversation, each message written to
 *   its stdin, so a follow-up skips the CLI's start-up (see live.ts).
 * Either way the prompt travels as a JSON line on stdin (never argv, never a shell), and with
 * `--permission-prompt-tool stdio` every permission check, question and plan comes back to cligate
 * as a control request that a person answers in the chat (see control.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import { bundledBinary } from '../../paths.js';
import { cleanEnv } from '../../sandbox/env.js';
import { sandboxFailure, type Command, type Sandbox } from '../../sandbox/index.js';
import { findExecutable, quickRun } from '../process.js';
import { runOnce } from '../run-once.js';
import { contextText, type Engine, type EngineCheck, type EngineEvent, type TurnOutcome, type TurnRequest } from '../types.js';
import { adoptSpare, removeSpare } from '../../sandbox/spares.js';
import { LivePool, type SpareOptions, type SpareTemplate } from './live.js';
import { claudeOutcome, cliMissing } from './outcome.js';
import { ClaudeStream } from './stream.js';
import { answerControl } from './control.js';

export interface ClaudeEngineOptions {
  claude: Config['engine']['claude'];
  retry: Config['retry'];
  live: Config['live'];
  jobTimeoutS: number;
  log: Logger;
  /** Environment the CLI's allow-listed variables come from; the gateway's own by default. */
  env?: NodeJS.ProcessEnv;
  sandbox: Sandbox;
}

export type ClaudeMode = 'oneshot' | 'live';

export class ClaudeEngine implements Engine {
  readonly name = 'claude' as const;
  readonly bin: string;
  private readonly pool?: LivePool;
  /** Reserves memory's MCP URL for a spare (learned from the last turn that had memory). */
  private mcpReserve?: () => string | undefined;

  constructor(private readonly options: ClaudeEngineOptions) {
    this.bin = options.claude.path || bundledBinary('claude');
    if (options.live.enabled) {
      this.pool = new LivePool({
        command: (turn, args) => this.command(turn, args),
        maxProcesses: options.live.max_processes,
        idleTimeoutMs: options.live.idle_timeout_s * 1000,
        timeoutMs: options.jobTimeoutS * 1000,
        log: options.log,
        outcome: (stream, facts) => claudeOutcome(stream, { ...facts, bin: this.bin, timeoutS: options.jobTimeoutS, maxTurns: options.claude.max_turns }),
        spares: options.live.spares > 0 ? this.spareOptions(options.live.spares) : undefined,
      });
    }
  }

  /** The live pool's spares: started in folders of their own, moved to the conversation that takes one. */
  private spareOptions(count: number): SpareOptions {
    const sandbox = this.options.sandbox;
    const saved = sandbox.spareTemplateFile('claude');
    return {
      count,
      templateOf: (turn) => {
        // Memory's MCP server binds a URL to one conversation's scope: a spare gets a reserved URL,
        // bound when a conversation takes it. Other MCP configs (stdio) cannot wait: no spare.
        if (turn.mcpConfig && !turn.mcpSpare) return undefined;
        if (turn.mcpSpare) this.mcpReserve = () => turn.mcpSpare!.reserve();
        const flags = { systemPrompt: turn.systemPrompt, permissionMode: turn.permissionMode, allowRules: turn.allowRules ?? [], mcp: !!turn.mcpConfig };
        return { key: argsKey(this.args({ ...flags, mcpConfig: flags.mcp ? 'memory' : undefined }, 'live'), ''), turn: flags };
      },
      start: (template, sessionId) => {
        const mcpConfig = template.turn.mcp ? this.mcpReserve?.() : undefined;
        if (template.turn.mcp && !mcpConfig) return undefined; // memory's server is not up yet: after the next turn
        const dirs = sandbox.spareDirs('claude', sessionId);
        const args = [...this.args({ ...template.turn, mcpConfig }, 'live'), '--session-id', sessionId];
        const command = sandbox.command({ engine: 'claude', conversationId: `spare:${sessionId}`, cwd: dirs.workspace, home: dirs.home, bin: this.bin, args, env: this.env(template.turn) });
        return { command, dirs, mcpConfig };
      },
      adopt: (spare, turn) => {
        if (spare.mcpConfig && !turn.mcpSpare?.adopt(spare.mcpConfig)) throw new Error('the spare\'s memory tools could not be bound to the conversation');
        adoptSpare(spare.dirs, sandbox.conversationDirs('claude', turn.conversationId, turn.cwd));
        // Memory's URL for this conversation is the spare's from now on: later turns name it.
        return this.liveKey({ ...turn, mcpConfig: spare.mcpConfig ?? turn.mcpConfig });
      },
      remove: (dirs) => removeSpare(dirs),
      roomy: () => os.freemem() >= SPARE_MIN_FREE_BYTES,
      saved: readTemplate(saved),
      save: (template) => writeTemplate(saved, template),
    };
  }

  /** Starts the spares (at start-up, from the last new session's flags; after that as they are taken). */
  warm(): void {
    this.pool?.refill();
  }

  /** Starts a conversation's `--resume` process ahead of its turn (see LivePool.prewarm). */
  prewarm(turn: TurnRequest): boolean {
    if (!this.pool || !findExecutable(this.bin)) return false;
    try {
      return this.pool.prewarm(turn, this.args(turn, 'live'), this.liveKey(turn));
    } catch (err) {
      this.options.log.debug({ err }, 'could not start a live claude process ahead of its turn');
      return false;
    }
  }

  holdsLive(conversationId: string): boolean {
    return this.pool?.processOf(conversationId) !== undefined;
  }

  /** The live pool, for tests and the bench: its spares and each conversation's process. */
  get livePool(): LivePool | undefined {
    return this.pool;
  }

  private liveKey(turn: TurnRequest): string {
    return argsKey(this.args({ ...turn, sessionId: undefined }, 'live'), turn.cwd);
  }

  get liveProcesses(): number {
    return this.pool?.size ?? 0;
  }

  async run(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome> {
    if (!findExecutable(this.bin)) {
      return { ok: false, text: '', costUsd: 0, durationMs: 0, error: cliMissing(this.bin) };
    }
    try {
      if (this.pool) {
        const outcome = await this.pool.run(turn, this.args(turn, 'live'), this.liveKey(turn), onEvent, signal);
        if (outcome) return outcome;
        // No live slot free (every process busy): fall back to a process of its own.
      }
      return await this.oneShot(turn, onEvent, signal);
    } catch (err) {
      return sandboxFailure(err);
    }
  }

  async release(conversationId: string): Promise<void> {
    await this.pool?.close(conversationId);
  }

  async close(): Promise<void> {
    await this.pool?.closeAll();
  }

  /** Arguments for one turn; the prompt goes last, after `--`, so a prompt starting with "-" is not a flag. */
  args(turn: Pick<TurnRequest, 'sessionId' | 'systemPrompt' | 'context' | 'mcpConfig' | 'permissionMode' | 'allowRules'>, mode: ClaudeMode): string[] {
    const c = this.options.claude;
    const args = ['-p', '--output-format', 'stream-json', '--verbose', '--include-partial-messages', '--input-format', 'stream-json'];
    if (turn.sessionId) args.push('--resume', turn.sessionId);
    if (c.model) args.push('--model', c.model);
    args.push('--permission-mode', turn.permissionMode ?? c.permission_mode, '--permission-prompt-tool', 'stdio');
    // cligate's own MCP tools (memory) are allowed without asking: they only touch this person's memories.
    const allowed = [...c.allowed_tools, ...(turn.allowRules ?? []), ...(turn.mcpConfig ? ['mcp__memory'] : [])];
    if (allowed.length) args.push('--allowedTools', ...allowed);
    if (c.disallowed_tools.length) args.push('--disallowedTools', ...c.disallowed_tools);
    if (c.max_turns > 0) args.push('--max-turns', String(c.max_turns));
    // A live process keeps its system prompt for life; its per-turn context travels with each message (live.ts).
    const system = mode === 'oneshot' ? [turn.systemPrompt, contextText(turn.context)].filter(Boolean).join('\n\n') : turn.systemPrompt;
    if (system) args.push('--append-system-prompt', system);
    if (turn.mcpConfig) args.push('--mcp-config', turn.mcpConfig);
    args.push(...c.extra_args);
    return args;
  }

  env(turn?: Pick<TurnRequest, 'permissionMode'>): NodeJS.ProcessEnv {
    const base = cleanEnv('claude', this.options.env ?? process.env);
    const bypass = (turn?.permissionMode ?? this.options.claude.permission_mode) === 'bypassPermissions';
    return {
      ...base,
      // The gateway runs its own retry policy around the CLI's (see retry.cli_max_retries).
      CLAUDE_CODE_MAX_RETRIES: String(this.options.retry.cli_max_retries),
      DISABLE_AUTOUPDATER: base.DISABLE_AUTOUPDATER ?? '1',
      // As root the CLI refuses to bypass permissions unless told it is sandboxed; an admin chose /mode auto.
      ...(bypass && process.getuid?.() === 0 ? { IS_SANDBOX: '1' } : {}),
      ...this.options.claude.env,
    };
  }

  /** The process to start for a turn: this CLI with these arguments, in the conversation's containment. */
  private command(turn: TurnRequest, args: string[]): Command {
    return this.options.sandbox.command({ engine: 'claude', conversationId: turn.conversationId, cwd: turn.cwd, bin: this.bin, args, env: this.env(turn) });
  }

  private async oneShot(turn: TurnRequest, onEvent: (event: EngineEvent) => void, signal: AbortSignal): Promise<TurnOutcome> {
    const stream = new ClaudeStream();
    const run = await runOnce({
      ...this.command(turn, this.args(turn, 'oneshot')), cwd: turn.cwd,
      // The prompt is the first line on stdin; stdin stays open for the answers to control requests.
      input: JSON.stringify({ type: 'user', message: { role: 'user', content: turn.prompt } }) + '\n',
      interactive: true,
      timeoutMs: this.options.jobTimeoutS * 1000, signal, onEvent,
      onLine: (line, control) => {
        for (const event of stream.push(line)) onEvent(event);
        for (const request of stream.takeControlRequests()) {
          void answerControl(request, turn, control.clock, signal).then((response) => control.write(JSON.stringify(response)));
        }
      },
      // The answer is complete at the result line; the process takes a few more ms to exit on its own.
      finished: () => stream.result !== undefined,
    });
    return claudeOutcome(stream, { ...run, bin: this.bin, costBefore: 0, timeoutS: this.options.jobTimeoutS, maxTurns: this.options.claude.max_turns });
  }

  async check(deep: boolean): Promise<EngineCheck> {
    const found = findExecutable(this.bin);
    if (!found) return { ok: false, message: cliMissing(this.bin).message };
    const version = await quickRun(found, ['--version'], this.env());
    if (!version.ok) return { ok: false, message: `\`${found} --version\` failed: ${version.output.slice(0, 200)}` };
    if (!deep) return { ok: true, message: `claude ${version.output} at ${found}` };
    // A folder of its own: under a sandbox the working directory is writable from inside.
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-doctor-'));
    const outcome = await this.oneShot(
      { conversationId: 'doctor', prompt: 'Reply with the single word: ok', sessionId: undefined, sessionTurns: 0, cwd, systemPrompt: '' },
      () => {}, new AbortController().signal,
    ).finally(() => fs.rmSync(cwd, { recursive: true, force: true }));
    if (outcome.ok) return { ok: true, message: `claude ${version.output} at ${found}: logged in, answered in ${outcome.durationMs} ms` };
    return { ok: false, message: `claude ${version.output} at ${found} starts, but a test prompt failed: ${outcome.error?.message}` };
  }
}

/** A spare is started only while the machine has this much memory available (a claude process takes about 200 MB). */
const SPARE_MIN_FREE_BYTES = 512 * 1024 * 1024;

function readTemplate(file: string): SpareTemplate | undefined {
  try {
    const t = JSON.parse(fs.readFileSync(file, 'utf8')) as SpareTemplate;
    return typeof t.key === 'string' && typeof t.turn?.systemPrompt === 'string' ? t : undefined;
  } catch {
    return undefined;
  }
}

function writeTemplate(file: string, template: SpareTemplate): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, JSON.stringify(template), { mode: 0o600 });
  } catch {
    /* spares then wait for the first new session after a restart */
  }
}

function argsKey(args: string[], cwd: string): string {
  return crypto.createHash('sha256').update(JSON.stringify([cwd, args])).digest('hex').slice(0, 16);
}
