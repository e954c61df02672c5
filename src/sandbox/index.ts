/**
 * Containment of every CLI process, in one place so no engine builds its own: the engine hands over
 * the command it wants to run for a conversation, with its (already allow-listed) environment, and
 * gets back the command to start: pointed at the conversation's own CLI home and, under bubblewrap,
 * wrapped in a sandbox that shows it its workspace and that home, and nothing of the gateway.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config, EngineName } from '../config/schema.js';
import type { TurnOutcome } from '../engine/types.js';
import type { Logger } from '../log.js';
import { BWRAP, bwrapArgs, installDirs, probeBwrap } from './bwrap.js';
import { conversationHome, prepareHome, type CliHome } from './homes.js';
import { spareDirs, type SpareDirs } from './spares.js';
import { guardGatewayFiles, handOver, resolveUser, type RunAs } from './user.js';

export type SandboxMode = 'bwrap' | 'none';

export interface Launch {
  engine: EngineName;
  conversationId: string;
  /** The conversation's workspace. */
  cwd: string;
  bin: string;
  args: string[];
  /** The CLI's environment as the engine made it (allow-listed, with its own settings). */
  env: NodeJS.ProcessEnv;
  /** Runs on a pseudo-terminal of its own (a web terminal tab), which stays its controlling terminal. */
  ownTerminal?: boolean;
  /** A spare's own CLI home instead of the conversation's (see spares.ts); `cwd` is then the spare's workspace. */
  home?: string;
}

export interface Command {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The user and group to start it as (sandbox.run_as_user); undefined: the gateway's. */
  uid?: number;
  gid?: number;
  /** Wrapped in bubblewrap, which reports the CLI's death by signal n as exit code 128 + n. */
  signalInExitCode?: boolean;
}

/** What the sandbox must keep away from a CLI: the gateway's own files. */
export interface GatewayPaths {
  dataDir: string;
  workspaceRoot: string;
  database: string;
  /** The config file; empty when running on defaults. */
  configFile: string;
}

export class Sandbox {
  /** Why bubblewrap is not in force under `auto`; undefined when it is, or when `none` was chosen. */
  readonly fallbackReason?: string;
  readonly mode: SandboxMode;
  /** Every enabled engine's login (`knowLogins`): hidden from every CLI, each of which gets a copy of its own. */
  private logins: string[] = [];

  constructor(
    readonly configured: Config['sandbox']['mode'],
    private readonly paths: GatewayPaths,
    probe: (as?: RunAs) => { ok: true } | { ok: false; reason: string } = probeOnce,
    /** sandbox.run_as_user, resolved. */
    readonly runAs?: RunAs,
  ) {
    if (runAs) guardGatewayFiles(this.gatewayFolders(), this.privateFiles());
    if (configured === 'none') {
      this.mode = 'none';
      return;
    }
    const result = probe(runAs);
    if (result.ok) {
      this.mode = 'bwrap';
    } else if (configured === 'bwrap') {
      throw new Error(`sandbox.mode is "bwrap", but ${result.reason}. ${HOW_TO_ENABLE}`);
    } else {
      this.mode = 'none';
      this.fallbackReason = result.reason;
    }
  }

  static fromConfig(config: Config): Sandbox {
    const source = (config as Config & { source?: string }).source ?? '';
    return new Sandbox(config.sandbox.mode, {
      dataDir: config.gateway.data_dir, workspaceRoot: config.workspace.root, database: config.store.path, configFile: source,
    }, probeOnce, config.sandbox.run_as_user ? resolveUser(config.sandbox.run_as_user) : undefined);
  }

  /** One line for the log and `cligate doctor`: the sandbox in force, and how to get one if none. */
  describe(): string {
    const as = this.runAs ? `; CLIs run as user ${this.runAs.name}` : '';
    if (this.mode === 'bwrap') return `bubblewrap: each CLI sees its own workspace and CLI home, the system read-only, a private /tmp${as}`;
    if (this.runAs) return `none, but CLIs run as user ${this.runAs.name} (sandbox.run_as_user), who cannot read the gateway's database or list its folders`;
    if (this.fallbackReason) return `none (${this.fallbackReason}). ${HOW_TO_ENABLE}`;
    return 'none (sandbox.mode = "none"): each CLI runs with the gateway\'s rights and can read its files';
  }

  /** At start-up: which sandbox is in force, with a warning when `auto` found none or a setting cannot work in it. */
  announce(config: Pick<Config, 'memory'>, log: Logger): void {
    if (this.fallbackReason) log.warn({ reason: this.fallbackReason }, `no sandbox for the CLIs: ${this.describe()}`);
    else log.info({ mode: this.mode }, `sandbox: ${this.describe()}`);
    if (this.mode === 'bwrap' && config.memory.enabled && config.memory.mcp === 'stdio') {
      log.warn('memory.mcp = "stdio" cannot work inside the sandbox (`cligate mcp` would need the database), so Claude\'s memory tools are served over loopback http instead. Set memory.mcp = "http" to silence this.');
    }
  }

  /**
   * The memory settings that work in this sandbox: `cligate mcp` (stdio) runs inside the CLI's
   * sandbox, where the database is out of reach, so under bubblewrap the worker serves the tools (http).
   */
  memoryConfig<C extends Pick<Config, 'memory'>>(config: C): C {
    if (this.mode !== 'bwrap' || config.memory.mcp !== 'stdio') return config;
    return { ...config, memory: { ...config.memory, mcp: 'http' } };
  }

  knowLogins(paths: string[]): void {
    this.logins = paths;
  }

  /** The command to start for `launch`; a SandboxError, saying what to check, when its CLI home cannot be made. */
  command(launch: Launch): Command {
    const dir = launch.home ?? conversationHome(this.paths.dataDir, launch.engine, launch.conversationId);
    let home: CliHome;
    try {
      home = prepareHome(launch.engine, dir, launch.env, launch.cwd);
      if (this.runAs) {
        guardGatewayFiles(this.gatewayFolders(), []);
        handOver(this.runAs, [launch.cwd, home.home]);
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new SandboxError(`The CLI's home for this conversation (${dir}) could not be prepared (${code}). Check that gateway.data_dir is writable by cligate${this.runAs ? ' and that cligate runs as root (sandbox.run_as_user)' : ''}.`, { cause: err });
    }
    const env = { ...launch.env, ...home.env };
    const as = this.runAs ? { uid: this.runAs.uid, gid: this.runAs.gid } : {};
    if (this.mode === 'none') return { bin: launch.bin, args: launch.args, env, ...as };
    // Every engine's login, not only this one's: a Codex conversation's CLI has no business with Claude's.
    const logins = [...new Set([...home.login, ...this.logins])];
    const args = bwrapArgs({
      workspace: launch.cwd,
      home: home.home,
      hideDirs: [this.paths.dataDir, this.paths.workspaceRoot, path.dirname(home.home), ...logins.filter(isDir), ...gatewayHome(), ...daemonSockets()],
      hideFiles: [this.paths.configFile, this.paths.database, `${this.paths.database}-wal`, `${this.paths.database}-shm`, ...logins.filter((p) => !isDir(p) && fs.existsSync(p))].filter(Boolean),
      runFrom: [...installDirs(launch.bin), ...resolverDir()],
      ownTerminal: launch.ownTerminal,
    }, realBinary(launch.bin), launch.args);
    return { bin: BWRAP, args, env, ...as, signalInExitCode: true };
  }

  /** A new spare's folders (its workspace made, its home left to `command`); see spares.ts. */
  spareDirs(engine: EngineName, id: string): SpareDirs {
    const dirs = spareDirs(this.paths.workspaceRoot, path.join(this.paths.dataDir, 'cli-homes', engine), id);
    fs.mkdirSync(dirs.workspace, { recursive: true, mode: 0o700 });
    return dirs;
  }

  /** Where the flags of the last new session are kept, for spares after a restart. */
  spareTemplateFile(engine: EngineName): string {
    return path.join(this.paths.dataDir, 'cli-homes', engine, '.spares', 'template.json');
  }

  /** The folders a conversation's CLI runs in, for a spare to be moved to. */
  conversationDirs(engine: EngineName, conversationId: string, workspace: string): SpareDirs {
    return { workspace, home: conversationHome(this.paths.dataDir, engine, conversationId) };
  }

  /** Folders of the gateway on the way to a workspace or CLI home: another user may pass, not list. */
  private gatewayFolders(): string[] {
    const homes = path.join(this.paths.dataDir, 'cli-homes');
    const engines = ['claude', 'codex', 'gemini'].map((e) => path.join(homes, e));
    return [this.paths.dataDir, this.paths.workspaceRoot, homes, ...engines, path.join(this.paths.workspaceRoot, '.spares'), ...engines.map((e) => path.join(e, '.spares'))];
  }

  private privateFiles(): string[] {
    return [this.paths.database, `${this.paths.database}-wal`, `${this.paths.database}-shm`, this.paths.configFile].filter(Boolean);
  }
}

/** A CLI could not be contained as configured; the message is for the person in the chat. */
export class SandboxError extends Error {}

/** The outcome of a turn whose CLI could not be started because of `err`; rethrows anything else. */
export function sandboxFailure(err: unknown): TurnOutcome {
  if (!(err instanceof SandboxError)) throw err;
  return { ok: false, text: '', costUsd: 0, durationMs: 0, error: { code: 'engine_error', message: err.message, retryable: false, detail: err.cause === undefined ? undefined : String(err.cause) } };
}

export const HOW_TO_ENABLE = 'To contain each conversation\'s CLI, install bubblewrap (`apt-get install bubblewrap`) where user namespaces are allowed (in a Docker container that usually means `--security-opt seccomp=unconfined --security-opt apparmor=unconfined`), then set sandbox.mode = "bwrap" to make it required.';

const probed = new Map<string, ReturnType<typeof probeBwrap>>();
/** Bubblewrap works or not for the life of the process: ask once (per user it runs as). */
function probeOnce(as?: RunAs): ReturnType<typeof probeBwrap> {
  const key = as ? String(as.uid) : '';
  if (!probed.has(key)) probed.set(key, probeBwrap(as));
  return probed.get(key)!;
}

/**
 * /run holds the machine's daemons' sockets (Docker, D-Bus, databases). A read-only mount does not
 * stop a connect(), and a CLI running as root would pass their permission checks: hide them.
 */
function daemonSockets(): string[] {
  return isDir('/run') ? ['/run'] : [];
}

/** Where /etc/resolv.conf really is, when that is under /run (systemd-resolved): name lookups need it. */
function resolverDir(): string[] {
  try {
    const real = fs.realpathSync('/etc/resolv.conf');
    return real.startsWith('/run/') ? [path.dirname(real)] : [];
  } catch {
    return [];
  }
}

/** The gateway user's home (dotfiles, tokens of other tools), unless it is the root of everything. */
function gatewayHome(): string[] {
  const home = os.homedir();
  return home && home !== '/' ? [home] : [];
}

/**
 * The file a binary's path leads to: a link such as ~/.local/bin/claude may sit in a folder the
 * sandbox hides, while what it points to is bound back. A bare name is left to PATH inside.
 */
function realBinary(bin: string): string {
  if (!bin.includes('/')) return bin;
  try {
    return fs.realpathSync(bin);
  } catch {
    return bin;
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}
