/**
 * A real PostgreSQL (Debian's) on a free loopback port, in a temporary folder that is its whole
 * cluster, started and stopped by a test. Tuned for speed, not safety: no fsync, trust auth.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { requireTool } from '../system/host.js';
import { freePort, tmpDir } from './harness.js';

const USER = 'cligate';
const DATABASE = 'cligate';
const READY = 'database system is ready to accept connections';
/** A name that needs no quoting in SQL nor in a URL. */
const PLAIN_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Every server not yet stopped, shut down if the test process exits without stopping it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGQUIT');
});

export class PostgresServer {
  private databases = 0;

  private constructor(
    /** The cluster's folder (data/ in it) and its Unix socket; every server process has it as its working folder. */
    readonly dir: string,
    readonly port: number,
    /** The folder of postgres, initdb and psql, all from the same version. */
    private readonly bin: string,
    private readonly child: ChildProcess,
  ) {}

  /** The database `cligate`, owned by user `cligate`, who needs no password. */
  get url(): string {
    return this.urlOf(DATABASE);
  }

  urlOf(database: string): string {
    return `postgres://${USER}@127.0.0.1:${this.port}/${database}`;
  }

  static async start(): Promise<PostgresServer> {
    // The folder of the real program: /usr/local/bin/postgres may be a link into /usr/lib/postgresql/15/bin.
    const bin = path.dirname(fs.realpathSync(requireTool('postgres')));
    const asServer = serverUser();
    const dir = tmpDir('cligate-postgres-');
    if (asServer.uid !== undefined) fs.chownSync(dir, asServer.uid, asServer.gid!);
    const data = path.join(dir, 'data');
    await run(asServer.argv(path.join(bin, 'initdb'), '-D', data, '-A', 'trust', '-U', USER, '-E', 'UTF8', '--locale=C', '--no-sync'), dir)
      .catch((err) => {
        fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      });

    const port = await freePort();
    const child = spawn(...split(asServer.argv(
      path.join(bin, 'postgres'), '-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
    )), { cwd: dir, env: cleanEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    const server = new PostgresServer(dir, port, bin, child);
    try {
      await untilReady(child);
      await server.psql(`CREATE DATABASE ${DATABASE}`, server.urlOf('postgres'));
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** A fresh, empty database on this server (one per test file or case), and its URL. */
  async createDatabase(name = `test_${++this.databases}`): Promise<string> {
    if (!PLAIN_NAME.test(name)) throw new Error(`not a plain database name: ${name}`);
    await this.psql(`CREATE DATABASE ${name}`, this.urlOf('postgres'));
    return this.urlOf(name);
  }

  /** Runs SQL with psql and returns its rows unaligned, one a line, columns separated by |. */
  async psql(sql: string, url = this.url): Promise<string> {
    return run([path.join(this.bin, 'psql'), '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], this.dir);
  }

  /** Shuts it down at once (no checkpoint: the cluster is thrown away), then removes its folder. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      // SIGQUIT is postgres's immediate shutdown: it ends its own processes and then exits. SIGKILL
      // would leave them running until they notice, so it is only the fallback.
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Who runs initdb and postgres: postgres refuses to run as root, which the tests (and CI) often are,
 * so then it is Debian's `postgres` user (or `nobody`), through setpriv, which execs the program:
 * the pid the test holds is postgres's own, and a signal to it reaches the server.
 */
function serverUser(): { argv: (...command: string[]) => string[]; uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return { argv: (...command) => command };
  const setpriv = requireSetpriv();
  const user = ['postgres', 'nobody'].find((name) => idOf(name, '-u') !== undefined)!;
  const uid = idOf(user, '-u')!;
  const gid = idOf(user, '-g')!;
  return { uid, gid, argv: (...command) => [setpriv, `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--', ...command] };
}

function requireSetpriv(): string {
  const found = ['/usr/bin/setpriv', '/bin/setpriv'].find((file) => fs.existsSync(file));
  if (!found) throw new Error('Running the tests as root, postgres needs another user, and setpriv (util-linux) is not installed to switch to it.');
  return found;
}

/** A user's uid or gid, if there is such a user. */
function idOf(user: string, flag: '-u' | '-g'): number | undefined {
  try {
    const id = execFileSync('id', [flag, user], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return /^\d+$/.test(id) ? Number(id) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment without PG* variables, which would point initdb and psql at some other server. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('PG')));
}

function split(argv: string[]): [string, string[]] {
  return [argv[0]!, argv.slice(1)];
}

/** Runs a program to the end, for its stdout; failing, with all it printed in the error. */
function run(argv: string[], cwd: string): Promise<string> {
  const [command, args] = split(argv);
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: cleanEnv(), timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${argv.join(' ')} failed (${err.message.split('\n')[0]}):\n${stdout}${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

/** Waits for postgres to say it is ready; its log so far is in the error if it does not. */
function untilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(READY)) done();
    };
    const onError = (err: Error) => done(`could not be run: ${err.message}`);
    const onExit = (code: number | null, signal: string | null) => done(`exited (${signal ?? `code ${code}`}) before it was ready`);
    const timer = setTimeout(() => done('did not start within 20 s'), 20_000);
    function done(failure?: string) {
      clearTimeout(timer);
      child.off('error', onError).off('exit', onExit);
      // Still read afterwards, so that a full pipe never blocks the server's logging.
      child.stderr!.off('data', onData).resume();
      if (failure) reject(new Error(`postgres ${failure}:\n${log}`));
      else resolve();
    }
    child.once('error', onError).once('exit', onExit);
    child.stderr!.on('data', onData);
  });
}
