/**
 * Turns what a `claude` run left behind (its result line, stderr, exit status) into one outcome,
 * with failures mapped to messages that say what happened and how to fix it.
 */
import type { CliExit } from '../process.js';
import { engineError, type EngineError, type TurnOutcome } from '../types.js';
import type { ClaudeStream } from './stream.js';

export interface RunFacts {
  bin: string;
  exit?: CliExit;
  /** The end of the CLI's stderr. */
  stderr: string;
  /** Cost already reported by this process before the turn (long-lived processes report a running total). */
  costBefore: number;
  startedAt: number;
  timedOut: boolean;
  timeoutS: number;
  cancelled: boolean;
  maxTurns: number;
}

export function claudeOutcome(stream: ClaudeStream, facts: RunFacts): TurnOutcome {
  const result = stream.result;
  const durationMs = Date.now() - facts.startedAt;
  const base = {
    sessionId: result?.sessionId || stream.sessionId,
    costUsd: result ? Math.max(0, result.totalCostUsd - facts.costBefore) : 0,
    usage: result?.usage,
    durationMs,
  };
  const partial = stream.streamedText;
  const fail = (error: EngineError): TurnOutcome => ({ ok: false, text: partial, ...base, error });

  if (facts.cancelled) return fail(engineError('cancelled', 'Stopped.'));
  if (facts.timedOut) {
    return fail(engineError('timeout',
      `The answer took longer than ${facts.timeoutS} s and was stopped (worker.job_timeout_s). Ask for a smaller step, or raise the limit in the config.`));
  }
  if (facts.exit?.spawnError) return fail(cliMissing(facts.bin, facts.exit.spawnError));
  if (result && !result.isError) return { ok: true, text: result.text, ...base };
  return fail(classifyFailure(stream, facts));
}

export function cliMissing(bin: string, err?: NodeJS.ErrnoException): EngineError {
  return engineError('cli_missing',
    `The Claude Code CLI could not be started (${err?.code ?? 'not found'}: ${bin}). Run \`npm install\` in cligate's folder to get it, or set engine.claude.path in the config to your \`claude\` binary.`,
    false, err?.message);
}

const LOGIN_FIX = 'On the gateway machine run `claude` and log in with /login, or give cligate ANTHROPIC_API_KEY or CLAUDE_CODE_OAUTH_TOKEN; then send your message again.';

function classifyFailure(stream: ClaudeStream, facts: RunFacts): EngineError {
  const result = stream.result;
  const stderrText = facts.stderr;
  const text = [result?.text ?? '', ...(result?.errors ?? []), stderrText].join('\n');
  const status = result?.apiErrorStatus ?? null;
  const kind = stream.apiErrorKind ?? '';
  const detail = `exit=${facts.exit?.code ?? 'none'} signal=${facts.exit?.signal ?? 'none'} status=${status} kind=${kind} ${text.slice(-600)}`;

  if (/No conversation found with session ID/i.test(text)) {
    return engineError('session_missing', 'The Claude session to resume no longer exists.', false, detail);
  }
  if (/cannot be used with root\/sudo privileges/i.test(text)) {
    return engineError('refused',
      'The Claude CLI refuses bypassPermissions when run as root. Run cligate as a non-root user, or, on a throw-away sandbox, set engine.claude.env.IS_SANDBOX = "1".',
      false, detail);
  }
  if (result?.subtype === 'error_max_turns' || result?.terminalReason === 'max_turns') {
    return engineError('max_turns',
      `Claude stopped after ${facts.maxTurns || 'the maximum number of'} turns without finishing (engine.claude.max_turns). Say "continue", or raise the limit in the config.`,
      false, detail);
  }
  if (status === 429 || kind === 'rate_limit') {
    return engineError('rate_limited', "Claude's API is rate-limiting this account (429).", true, detail);
  }
  if (status === 529 || /overloaded/i.test(kind) || /\b529\b/.test(result?.text ?? '')) {
    return engineError('overloaded', "Claude's API is overloaded right now (529).", true, detail);
  }
  if (status === 401 || status === 403 || kind === 'authentication_failed' || /Not logged in|Failed to authenticate|Invalid API key|OAuth token (has )?expired/i.test(text)) {
    return engineError('not_logged_in', `Claude Code is not logged in, or its login has expired. ${LOGIN_FIX}`, false, detail);
  }
  if (status !== null && status >= 500) {
    return engineError('api_error', `Claude's API failed with a server error (${status}).`, true, detail);
  }
  if (/Connection refused|ECONNREFUSED|ENOTFOUND|ETIMEDOUT|fetch failed|network/i.test(text)) {
    return engineError('api_unreachable',
      "The Claude CLI could not reach Anthropic's API (network error). Check the gateway machine's connection or proxy settings (ANTHROPIC_BASE_URL, HTTPS_PROXY).",
      true, detail);
  }
  if (result?.isError) {
    const said = (result.text || result.errors.join(' ')).trim();
    return engineError('engine_error', `Claude Code reported an error: ${said.slice(0, 300) || 'no details given'}.`, false, detail);
  }
  if (stream.lines > 0 && stream.garbage === stream.lines) {
    return engineError('bad_output',
      'The Claude CLI printed output cligate cannot read (no stream-json). Check engine.claude.path points to Claude Code and engine.claude.extra_args does not change the output format.',
      false, detail);
  }
  const how = facts.exit?.signal ? `was killed by ${facts.exit.signal}` : `exited with code ${facts.exit?.code ?? 'unknown'}`;
  const said = lastLine(stderrText);
  return engineError('crashed',
    `The Claude CLI ${how} before finishing its answer${said ? ` (${said})` : ''}. The conversation is intact: send the message again.`,
    false, detail);
}

function lastLine(text: string): string {
  const line = text.trim().split('\n').filter(Boolean).at(-1) ?? '';
  return line.length > 200 ? line.slice(0, 199) + '…' : line;
}
