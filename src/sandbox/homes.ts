/**
 * A home of its own for each conversation's CLI. Every CLI keeps its sessions under its home
 * (Claude: $CLAUDE_CONFIG_DIR/projects, Codex: $CODEX_HOME/sessions, Gemini: ~/.gemini/tmp), so with one
 * shared home every conversation's transcripts sit side by side. Here each conversation's CLI gets
 * `<data_dir>/cli-homes/<engine>/<conversation>/` as HOME, with the engine's own folder inside,
 * seeded with a copy of the login (the credentials, never the login's sessions).
 *
 * The login is where the CLI would look without cligate: the configured or inherited
 * CLAUDE_CONFIG_DIR / CODEX_HOME, else ~/.claude, ~/.codex, ~/.gemini of the gateway's HOME.
 * Credentials are copied again whenever the login's copy is newer (a token refreshed by `claude login`).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EngineName } from '../config/schema.js';

export interface CliHome {
  /** The conversation's HOME for its CLI. */
  home: string;
  /** Variables that point the CLI at it. */
  env: Record<string, string>;
  /** The login's files and folders: the sandbox hides them (the home has its own copies). */
  login: string[];
}

interface Layout {
  /** The login folder, from the environment the CLI would have had. */
  loginDir(env: NodeJS.ProcessEnv): string;
  /** The engine's folder inside a conversation's home. */
  dirName: string;
  /** Variable naming that folder, if the CLI has one (else it follows HOME). */
  dirVariable?: string;
  /** Login files copied in, relative to the login folder. */
  credentials: string[];
  /** Copied once: the CLI writes to them afterwards. */
  seeds: string[];
  /** A file of the login kept outside its folder (Claude's ~/.claude.json without CLAUDE_CONFIG_DIR). */
  outside?(env: NodeJS.ProcessEnv): { file: string; as: string } | undefined;
}

const homeOf = (env: NodeJS.ProcessEnv) => env.HOME || os.homedir();

const LAYOUTS: Record<EngineName, Layout> = {
  claude: {
    loginDir: (env) => env.CLAUDE_CONFIG_DIR || path.join(homeOf(env), '.claude'),
    dirName: '.claude',
    dirVariable: 'CLAUDE_CONFIG_DIR',
    credentials: ['.credentials.json'],
    seeds: ['.claude.json', 'settings.json'],
    outside: (env) => (env.CLAUDE_CONFIG_DIR ? undefined : { file: path.join(homeOf(env), '.claude.json'), as: '.claude.json' }),
  },
  codex: {
    loginDir: (env) => env.CODEX_HOME || path.join(homeOf(env), '.codex'),
    dirName: '.codex',
    dirVariable: 'CODEX_HOME',
    credentials: ['auth.json', 'config.toml'],
    seeds: [],
  },
  gemini: {
    loginDir: (env) => path.join(homeOf(env), '.gemini'),
    dirName: '.gemini',
    credentials: ['oauth_creds.json', 'google_accounts.json', 'settings.json'],
    seeds: ['installation_id'],
  },
};

/** `<data_dir>/cli-homes/<engine>/<conversation>`: readable, unique, one path segment per conversation. */
export function conversationHome(dataDir: string, engine: EngineName, conversationId: string): string {
  const readable = conversationId.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 60);
  const hash = crypto.createHash('sha256').update(conversationId).digest('hex').slice(0, 12);
  return path.join(dataDir, 'cli-homes', engine, `${readable}-${hash}`);
}

/**
 * Makes (or refreshes) the conversation's home for `engine`. `env` is the environment the CLI would
 * have had, to find the login; `cwd` is the workspace, whose Claude sessions from before per-conversation
 * homes are moved in on first use, so those conversations resume where they were.
 */
export function prepareHome(engine: EngineName, home: string, env: NodeJS.ProcessEnv, cwd: string): CliHome {
  const layout = LAYOUTS[engine];
  const login = path.resolve(layout.loginDir(env));
  const own = path.join(home, layout.dirName);
  const fresh = !fs.existsSync(own);
  fs.mkdirSync(own, { recursive: true, mode: 0o700 });
  for (const name of layout.credentials) copyIfNewer(path.join(login, name), path.join(own, name));
  if (fresh) {
    for (const name of layout.seeds) copyIfNewer(path.join(login, name), path.join(own, name));
    const outside = layout.outside?.(env);
    if (outside) copyIfNewer(outside.file, path.join(own, outside.as));
    if (engine === 'claude') moveClaudeProject(login, own, cwd);
  }
  return { home, env: { HOME: home, ...(layout.dirVariable ? { [layout.dirVariable]: own } : {}) }, login: loginPaths(engine, env) };
}

/** Where an engine's login is, given the environment its CLI gets: its folder, and a file kept outside it. */
export function loginPaths(engine: EngineName, env: NodeJS.ProcessEnv): string[] {
  const layout = LAYOUTS[engine];
  return [path.resolve(layout.loginDir(env)), layout.outside?.(env)?.file].filter((p): p is string => !!p);
}

/** Deletes a conversation's CLI homes, every engine's (/forget): its sessions' transcripts go with the database's rows. */
export function forgetHomes(dataDir: string, conversationId: string): void {
  for (const engine of Object.keys(LAYOUTS) as EngineName[]) {
    try {
      fs.rmSync(conversationHome(dataDir, engine, conversationId), { recursive: true, force: true, maxRetries: 3, retryDelay: 20 });
    } catch (err) {
      // Its live CLI is still writing into it: the process that stops that CLI deletes the home after
      // (the `release` event with `forget`); the sessions are already gone from the database.
      if (!['ENOTEMPTY', 'EBUSY', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
}

/** Claude names a project's folder after its working directory, every other character a "-". */
export function claudeProjectDir(cwd: string): string {
  return cwd.replace(/[^A-Za-z0-9]/g, '-');
}

/** Moves the workspace's sessions from the shared login into the conversation's own store (once). */
function moveClaudeProject(login: string, own: string, cwd: string): void {
  const name = claudeProjectDir(cwd);
  const from = path.join(login, 'projects', name);
  const to = path.join(own, 'projects', name);
  if (!fs.existsSync(from) || fs.existsSync(to)) return;
  fs.mkdirSync(path.dirname(to), { recursive: true });
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
    fs.cpSync(from, to, { recursive: true });
    fs.rmSync(from, { recursive: true, force: true });
  }
}

function copyIfNewer(from: string, to: string): void {
  let source: fs.Stats;
  try {
    source = fs.statSync(from);
  } catch {
    return; // this login has no such file (an API key instead of an OAuth login)
  }
  if (!source.isFile()) return;
  try {
    if (fs.statSync(to).mtimeMs >= source.mtimeMs) return;
  } catch {
    /* not copied yet */
  }
  fs.copyFileSync(from, to);
  fs.chmodSync(to, 0o600);
}
