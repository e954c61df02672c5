/**
 * The command a terminal tab runs, contained exactly like a headless turn of the conversation: the
 * engine's clean environment, the conversation's own CLI home, and the sandbox (src/sandbox). A tab
 * runs on a pseudo-terminal of its own, which stays its controlling terminal (Ctrl-C, job control).
 *
 * - `claude`: the interactive CLI, resuming the conversation's current Claude session, in the
 *   conversation's permission mode; its first-start screens (onboarding, trusting the folder, using
 *   the configured API key) are answered in its CLI home, since the operator already chose all three.
 * - `codex`: the interactive CLI (`codex resume <id>` when the conversation has a Codex session).
 * - `shell`: bash, with the Claude CLI's environment and home (so `claude` typed there is this
 *   conversation's), in the workspace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PERMISSION_MODES, type PermissionMode } from '../approvals/types.js';
import type { Config } from '../config/schema.js';
import { ClaudeEngine } from '../engine/claude/index.js';
import { CodexEngine } from '../engine/codex.js';
import type { Engines } from '../engine/index.js';
import type { Command } from '../sandbox/index.js';
import type { Store } from '../store/index.js';
import { ensureWorkspace, workspacePath } from '../workspace.js';

export type TabKind = 'shell' | 'claude' | 'codex';
export const TAB_KINDS: TabKind[] = ['shell', 'claude', 'codex'];

export interface TabCommand extends Command {
  cwd: string;
}

/** Variables every tab's terminal gets: xterm.js speaks xterm with 256 colours and true colour. */
const TERMINAL_ENV = { TERM: 'xterm-256color', COLORTERM: 'truecolor' };

export function tabCommand(kind: TabKind, conversationId: string, deps: { config: Config; engines: Engines; store: Store }): TabCommand | { error: string } {
  const { config, engines, store } = deps;
  const cwd = ensureWorkspace(workspacePath(config.workspace.root, conversationId));
  const conversation = store.conversations.get(conversationId);
  const session = conversation && store.conversations.activeSession(conversation);
  const sessionOf = (engine: string) => (session?.engine === engine ? session.engine_session_id ?? undefined : undefined);
  if (kind === 'codex') {
    const codex = engines.get('codex');
    if (!(codex instanceof CodexEngine)) return { error: 'The Codex engine is not enabled on this gateway (engine.codex.enabled).' };
    const id = sessionOf('codex');
    const env = { ...codex.env(), ...TERMINAL_ENV };
    return { ...engines.sandbox.command({ engine: 'codex', conversationId, cwd, bin: codex.bin, args: id ? ['resume', id] : [], env, ownTerminal: true }), cwd };
  }
  const claude = engines.get('claude');
  if (!(claude instanceof ClaudeEngine)) return { error: 'The Claude engine is not available on this gateway.' };
  const mode = conversation?.permission_mode ? PERMISSION_MODES[conversation.permission_mode as PermissionMode]?.cli : undefined;
  const env = { ...claude.env({ permissionMode: mode }), ...TERMINAL_ENV };
  if (kind === 'shell') {
    const bash = ['/bin/bash', '/usr/bin/bash'].find((b) => fs.existsSync(b)) ?? '/bin/sh';
    return { ...engines.sandbox.command({ engine: 'claude', conversationId, cwd, bin: bash, args: [], env, ownTerminal: true }), cwd };
  }
  const id = sessionOf('claude');
  const args = [...(id ? ['--resume', id] : []), '--permission-mode', mode ?? config.engine.claude.permission_mode];
  if (config.engine.claude.model) args.push('--model', config.engine.claude.model);
  const command = engines.sandbox.command({ engine: 'claude', conversationId, cwd, bin: claude.bin, args, env, ownTerminal: true });
  skipFirstStartScreens(command.env, cwd);
  return { ...command, cwd };
}

/** Records in the CLI home's `.claude.json` what the TUI would ask before its prompt. */
function skipFirstStartScreens(env: NodeJS.ProcessEnv, cwd: string): void {
  const dir = env.CLAUDE_CONFIG_DIR;
  if (!dir) return;
  const file = path.join(dir, '.claude.json');
  let state: Record<string, any> = {};
  try {
    state = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    /* none yet */
  }
  state.hasCompletedOnboarding = true;
  state.projects ??= {};
  state.projects[cwd] = { ...state.projects[cwd], hasTrustDialogAccepted: true };
  const key = env.ANTHROPIC_API_KEY;
  if (key) {
    const approved: string[] = state.customApiKeyResponses?.approved ?? [];
    if (!approved.includes(key.slice(-20))) approved.push(key.slice(-20));
    state.customApiKeyResponses = { rejected: [], ...state.customApiKeyResponses, approved };
  }
  fs.writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}
