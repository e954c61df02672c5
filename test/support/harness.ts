/**
 * Test plumbing: temporary folders and config files, `cligate` as a child process with its output
 * watched line by line, and helpers to wait for things to happen.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'smol-toml';
import type { AnthropicFake } from './anthropic-fake.js';
import { CLI_ENTRY } from '../../src/paths.js';

export function tmpDir(prefix = 'cligate-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

type Tree = { [key: string]: unknown };

/** Settings every test wants: fast retries, short leases, quiet logs, no HTTP unless asked. */
export function testConfig(dataDir: string, overrides: Tree = {}): Tree {
  const base: Tree = {
    gateway: { data_dir: dataDir, log_level: 'warn', shutdown_grace_s: 5 },
    worker: { concurrency: 4, lease_s: 3, job_timeout_s: 60 },
    retry: { attempts: 2, backoff_s: [0.05], cli_max_retries: 0 },
    // Spares start processes in the background: only the tests about them turn them on.
    live: { enabled: false, spares: 0 },
    http: { enabled: false, port: 0 },
    memory: { enabled: false },
    limits: { messages_per_minute: 0 },
  };
  return merge(base, overrides);
}

export function writeConfig(dir: string, config: Tree, name = 'cligate.toml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, stringify(config));
  return file;
}

function merge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && a[k] && typeof a[k] === 'object' ? merge(a[k] as Tree, v as Tree) : v;
  }
  return out;
}

/** Environment for a cligate process whose `claude` talks to the fake. */
export function cliEnv(fake: AnthropicFake, dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const configDir = path.join(dir, 'claude-config');
  fs.mkdirSync(configDir, { recursive: true });
  return { ...process.env, ...fake.env(configDir), ...extra };
}

export class CligateProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    const collect = (into: string[]) => {
      let pending = '';
      return (chunk: Buffer) => {
        pending += chunk.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop()!;
        into.push(...lines);
        this.check();
      };
    };
    child.stdout?.on('data', collect(this.stdout));
    child.stderr?.on('data', collect(this.stderr));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.check();
      resolve({ code, signal });
    }));
  }

  write(line: string): void {
    this.child.stdin?.write(line + '\n');
  }

  /** Waits until a stdout line matches. */
  async waitForLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    await this.waitFor(() => this.stdout.some((l) => pattern.test(l)), timeoutMs, `stdout line ${pattern}`);
    return this.stdout.find((l) => pattern.test(l))!;
  }

  async waitFor(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (test()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.test !== test);
        reject(new Error(`timed out waiting for ${what}\nstdout:\n${this.stdout.join('\n')}\nstderr:\n${this.stderr.join('\n').slice(-3000)}`));
      }, timeoutMs);
      this.waiters.push({ test, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.test()) {
        this.waiters = this.waiters.filter((x) => x !== w);
        w.resolve();
      }
    }
  }
}

const spawned = new Set<ChildProcess>();
// A test that fails before its own clean-up must not leave gateways running.
process.once('exit', () => {
  for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Runs the built `cligate` (dist/src/cli.js): `npm test` builds first. */
export function spawnCligate(args: string[], env: NodeJS.ProcessEnv, cwd = os.tmpdir()): CligateProcess {
  if (!fs.existsSync(CLI_ENTRY)) throw new Error(`${CLI_ENTRY} is missing: run \`npm run build\` first (npm test does).`);
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  spawned.add(child);
  child.once('exit', () => spawned.delete(child));
  return new CligateProcess(child);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `test` until it returns something truthy. */
export async function eventually<T>(test: () => T | Promise<T>, timeoutMs = 20_000, what = 'condition', everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await test();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
