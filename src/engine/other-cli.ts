/**
 * What the Codex and Gemini engines share: finding their binary, framing a prompt for a CLI that has
 * no "append to the system prompt" option, and turning an API failure's text into a clear error.
 */
import { bundledBinary } from '../paths.js';
import { findExecutable, quickRun } from './process.js';
import type { RunOnceResult } from './run-once.js';
import { contextText, engineError, type EngineCheck, type EngineError, type TurnOutcome, type TurnRequest, type Usage } from './types.js';

export interface OtherCliInfo {
  /** "Codex", "Gemini". */
  title: string;
  /** Binary name npm installs. */
  binary: string;
  /** The optional npm dependency that brings it. */
  npmPackage: string;
  /** Config key of the engine, e.g. "codex". */
  key: string;
  /** How a person logs this CLI in. */
  login: string;
}

export function binaryOf(info: OtherCliInfo, configured: string): string {
  return configured || bundledBinary(info.binary);
}

export function cliMissingError(info: OtherCliInfo, bin: string, code = 'not found'): EngineError {
  return engineError('cli_missing',
    `The ${info.title} CLI could not be started (${code}: ${bin}). It is an optional dependency: run \`npm install ${info.npmPackage}\` in cligate's folder, or set engine.${info.key}.path to your \`${info.binary}\` binary.`);
}

/**
 * The prompt for a CLI without a system-prompt option: the gateway's context goes first, in a block,
 * on the first turn of a session (a resumed session has it already), and recalled memories every turn.
 */
export function framedPrompt(turn: TurnRequest): string {
  const parts = [!turn.sessionId ? turn.systemPrompt : '', contextText(turn.context)].filter(Boolean);
  return parts.length ? `<context>\n${parts.join('\n\n')}\n</context>\n\n${turn.prompt}` : turn.prompt;
}

/** Maps the text of an API failure reported by a CLI to an error that says what to do. */
export function apiFailure(info: OtherCliInfo, text: string): EngineError {
  const said = text.trim().slice(0, 300);
  if (/\b429\b|rate.?limit|too many requests|RESOURCE_EXHAUSTED|quota/i.test(text)) {
    return engineError('rate_limited', `The ${info.title} API is rate-limiting this account (429).`, true, said);
  }
  if (/\b(401|403)\b|unauthori[sz]ed|PERMISSION_DENIED|UNAUTHENTICATED|invalid api key|api key not valid/i.test(text)) {
    return engineError('not_logged_in', `The ${info.title} CLI is not logged in, or its key was refused. ${info.login}`, false, said);
  }
  if (/\b(500|502|503|529)\b|overloaded|high demand|UNAVAILABLE|INTERNAL/i.test(text)) {
    return engineError('overloaded', `The ${info.title} API is failing or overloaded right now.`, true, said);
  }
  if (/ECONNREFUSED|ENOTFOUND|network|fetch failed|timed out/i.test(text)) {
    return engineError('api_unreachable', `The ${info.title} CLI could not reach its API (network error). Check the gateway machine's connection.`, true, said);
  }
  return engineError('engine_error', `The ${info.title} CLI reported an error: ${said || 'no details given'}.`, false, said);
}

/** `<bin> --version`, for doctor and /healthz. */
export async function versionCheck(info: OtherCliInfo, bin: string, env: NodeJS.ProcessEnv): Promise<EngineCheck> {
  const found = findExecutable(bin);
  if (!found) return { ok: false, message: cliMissingError(info, bin).message };
  const version = await quickRun(found, ['--version'], env);
  return version.ok
    ? { ok: true, message: `${info.binary} ${version.output} at ${found}` }
    : { ok: false, message: `\`${found} --version\` failed: ${version.output.slice(0, 200)}` };
}

/** What a parser of a CLI's output made of one run. */
export interface ParsedRun {
  sessionId?: string;
  usage?: Usage;
  /** The answer (or what was written of it). */
  text: string;
  /** The CLI said the turn is complete. */
  completed: boolean;
  /** The CLI said the turn failed, and why. */
  failure?: string;
}

/** The outcome of one run of a CLI that reports no cost, from how the run ended and what was parsed. */
export function runOutcome(info: OtherCliInfo, bin: string, timeoutS: number, run: RunOnceResult, parsed: ParsedRun, sessionMissing: RegExp): TurnOutcome {
  const base = { sessionId: parsed.sessionId, costUsd: 0, usage: parsed.usage, durationMs: Date.now() - run.startedAt };
  const fail = (error: EngineError): TurnOutcome => ({ ok: false, text: parsed.text, ...base, error });
  if (run.cancelled) return fail(engineError('cancelled', 'Stopped.'));
  if (run.timedOut) return fail(engineError('timeout', `The answer took longer than ${timeoutS} s and was stopped (worker.job_timeout_s).`));
  if (run.exit?.spawnError) return fail(cliMissingError(info, bin, run.exit.spawnError.code));
  if (parsed.completed) return { ok: true, text: parsed.text, ...base };
  if (parsed.failure !== undefined) return fail(apiFailure(info, parsed.failure));
  if (sessionMissing.test(run.stderr)) {
    return fail(engineError('session_missing', `The ${info.title} session to resume no longer exists.`, false, run.stderr.slice(-300)));
  }
  const said = run.stderr.trim().split('\n').filter(Boolean).at(-1) ?? '';
  return fail(engineError('crashed', `The ${info.title} CLI exited (code ${run.exit?.code ?? '?'}) without finishing its answer${said ? ` (${said.slice(0, 200)})` : ''}.`, false, run.stderr.slice(-600)));
}
