/**
 * `cligate doctor`: checks what the gateway needs, one line each, and says how to fix what fails.
 * Exit code 0 when everything needed works.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { platforms } from '../adapters/index.js';
import type { LoadedConfig } from './config/load.js';
import { Engines } from './engine/index.js';
import { redactUrl, silentLogger } from './log.js';
import { judgeNode } from './node-support.js';
import { sectionOf, type AnyPlatformDefinition } from './platform.js';
import { proveContainment } from './sandbox/probe.js';
import { Store } from './store/index.js';

interface Check {
  name: string;
  ok: boolean;
  /** A warning does not fail the run. */
  warn?: boolean;
  message: string;
}

export async function runDoctor(config: LoadedConfig, print: (line: string) => void = console.log): Promise<number> {
  const checks: Check[] = [];
  const add = (check: Check) => {
    checks.push(check);
    print(`${check.ok ? (check.warn ? '!' : '✓') : '✗'} ${check.name}: ${check.message}`);
  };

  const node = judgeNode();
  add({ name: 'node', ok: node.level !== 'fail', warn: node.level === 'warn', message: node.message });
  add({ name: 'config', ok: true, message: config.source ? `read ${config.source}` : 'no config file; running on defaults (see config.example.toml)' });

  let store: Store | undefined;
  try {
    store = Store.open(config.store);
    store.db.ping();
    add({ name: 'database', ok: true, message: config.store.driver === 'postgres' ? `PostgreSQL at ${redactUrl(config.store.url)} (migrated)` : `${config.store.path} (WAL, migrated)` });
  } catch (err) {
    const fix = config.store.driver === 'postgres'
      ? `Check store.url (${redactUrl(config.store.url)}): that the server runs, the database exists and the user may create tables.`
      : 'Check gateway.data_dir / store.path and that the folder is writable.';
    add({ name: 'database', ok: false, message: `cannot open ${config.store.driver === 'postgres' ? 'the database' : config.store.path}: ${(err as Error).message}. ${fix}` });
  }

  try {
    fs.mkdirSync(config.workspace.root, { recursive: true });
    fs.accessSync(config.workspace.root, fs.constants.W_OK);
    add({ name: 'workspaces', ok: true, message: config.workspace.root });
  } catch (err) {
    add({ name: 'workspaces', ok: false, message: `${config.workspace.root} is not writable: ${(err as Error).message}` });
  }

  if (config.store.driver === 'postgres' && store) {
    // Several hosts share one database: they must share the files too, and agree on the time.
    const open = store;
    const guarded = (name: string, check: () => CheckResult) => {
      try {
        add({ name, ...check() });
      } catch (err) {
        add({ name, ok: false, message: (err as Error).message });
      }
    };
    guarded('shared path', () => checkSharedVolume(open, config.gateway.data_dir, config.workspace.root));
    guarded('clock', () => checkClock(open));
  }

  if (config.queue.driver === 'bullmq' && store) {
    const { BullQueue } = await import('./queue/bullmq.js');
    const queue = new BullQueue({ store, redisUrl: config.queue.redis_url, prefix: config.queue.prefix, leaseMs: 30_000, log: silentLogger });
    const problem = await queue.ping();
    add({ name: 'redis', ok: !problem, message: problem ? `${problem}. Start Redis, or set queue.redis_url / REDIS_URL.` : `${redactUrl(config.queue.redis_url)} answers` });
    await queue.close();
  }

  if (config.memory.enabled && store) {
    const { Memory } = await import('./memory/index.js');
    const memory = new Memory({ config, store, log: silentLogger });
    const ready = await memory.available(120_000);
    add(ready
      ? { name: 'memory', ok: true, message: `embedding model ${config.memory.model} loaded (${ready.dimension} dimensions)` }
      : { name: 'memory', ok: true, warn: true, message: memory.problem ?? 'the embedding model is still loading' });
    await memory.close();
  }

  {
    // A voice problem does not stop the gateway: voice notes are then answered with what is wrong.
    const { Voice } = await import('./voice/index.js');
    const voice = new Voice(config.voice, silentLogger);
    const result = await voice.check();
    add({ name: 'voice', ok: true, warn: !result.ok, message: `${voice.describe()}: ${result.text}` });
    await voice.close();
  }

  let engines: Engines | undefined;
  try {
    engines = new Engines(config, silentLogger);
  } catch (err) {
    add({ name: 'sandbox', ok: false, message: (err as Error).message });
  }
  if (engines) {
    // On PostgreSQL there is no database file to try: the shared volume's marker, beside the CLIs' homes, stands in.
    const secret = config.store.driver === 'postgres' ? path.join(config.gateway.data_dir, VOLUME_MARKER) : config.store.path;
    if (store) add({ name: 'sandbox', ...proveContainment(engines.sandbox, secret) });
    for (const name of engines.enabled()) {
      const result = await engines.get(name)!.check(true);
      add({ name: `engine ${name}`, ok: result.ok, message: result.message });
    }
    await engines.close();
  }

  for (const platform of platforms as readonly AnyPlatformDefinition[]) {
    const section = sectionOf(config, platform);
    const policy = platform.access(section);
    if (!platform.create || !platform.enabled(section) || policy.open) continue;
    const problem = platform.problem?.(section);
    const usersKey = `${platform.name}.${policy.usersKey ?? 'allowed_users'}`;
    add(problem
      ? { name: platform.name, ok: false, message: problem }
      : policy.users.length
        ? { name: platform.name, ok: true, message: `token set; ${policy.users.length} allowed user(s)` }
        : { name: platform.name, ok: true, warn: true, message: `token set but ${usersKey} is empty, so nobody can use the bot. Message it once: it replies with your user id to add there.` });
  }
  store?.close();
  const failed = checks.filter((c) => !c.ok);
  print(failed.length ? `\n${failed.length} problem(s) to fix.` : '\nAll good.');
  return failed.length ? 1 : 0;
}

/** What one check found; `warn` does not fail the run. */
export interface CheckResult {
  ok: boolean;
  warn?: boolean;
  message: string;
}

/** The file, in the data dir (and the workspace root when that is another volume), that names the shared volume. */
export const VOLUME_MARKER = '.cligate-volume';
/** Its row in `cluster_markers`. */
const VOLUME_KEY = 'shared_volume';

/**
 * With several hosts on one database, `gateway.data_dir` (the CLIs' homes) and `workspace.root` must be
 * one volume that every host mounts (NFS, EFS, a Kubernetes RWX volume). The database keeps a random
 * id and the volume a file holding it; the first run that finds neither writes both, and every later
 * run, on any host, must find the same id on its disk. Doctor runs it; the gateway may at start.
 */
export function checkSharedVolume(store: Store, dataDir: string, workspaceRoot: string = dataDir): CheckResult {
  const dirs = [{ key: 'gateway.data_dir', dir: dataDir }, { key: 'workspace.root', dir: workspaceRoot }];
  for (const { key, dir } of dirs) {
    try {
      fs.mkdirSync(dir, { recursive: true });
      fs.accessSync(dir, fs.constants.W_OK);
    } catch (err) {
      return { ok: false, message: `${key} (${dir}) is not writable: ${(err as Error).message}` };
    }
  }
  // The workspace root needs its own marker only where it is not simply a folder of the data dir's volume.
  const places = sameVolume(dataDir, workspaceRoot) ? dirs.slice(0, 1) : dirs;

  const db = store.db;
  const createTable = () => db.sql('create table if not exists cluster_markers (name text primary key, value text not null)');
  try {
    createTable();
  } catch {
    createTable(); // Two hosts creating it at once: one loses the race, then finds it there.
  }
  const recorded = () => db.sql<{ value: string }>('select value from cluster_markers where name = ?', VOLUME_KEY)[0]?.value;

  let id = recorded();
  let created = false;
  if (!id) {
    // A volume already marked (the database was replaced) keeps its id; otherwise this run marks it.
    const first = readMarker(places[0]!.dir) ?? writeMarker(places[0]!.dir, randomUUID());
    db.sql('insert into cluster_markers (name, value) values (?, ?) on conflict (name) do nothing', VOLUME_KEY, first);
    id = recorded()!;
    created = id === first;
  }
  for (const { key, dir } of places) {
    let found = readMarker(dir);
    if (found === undefined && created) found = writeMarker(dir, id);
    if (found !== id) {
      const why = found === undefined
        ? `${path.join(dir, VOLUME_MARKER)} is missing`
        : `${path.join(dir, VOLUME_MARKER)} holds ${found}`;
      return {
        ok: false,
        message: `this host's ${key} (${dir}) is not the volume the other hosts share: mount the shared volume there `
          + `(${why}; the database expects ${id}). If every host moved to a new volume, delete the old mark: `
          + `delete from cluster_markers where name = '${VOLUME_KEY}'.`,
      };
    }
  }
  const where = places.map((p) => p.dir).join(' and ');
  return { ok: true, message: created ? `${where} writable; marked as the shared volume (${id})` : `${where} writable, the shared volume (${id})` };
}

/** Both paths on one file system, the second inside the first: one marker covers both. */
function sameVolume(dataDir: string, dir: string): boolean {
  const rel = path.relative(dataDir, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return false;
  try {
    return fs.statSync(dataDir).dev === fs.statSync(dir).dev;
  } catch {
    return true;
  }
}

function readMarker(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, VOLUME_MARKER), 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Writes the marker whole, then links it into place; a host that got there first keeps its own. */
function writeMarker(dir: string, id: string): string {
  const file = path.join(dir, VOLUME_MARKER);
  const temp = `${file}.${process.pid}.${randomUUID()}`;
  fs.writeFileSync(temp, `${id}\n`);
  try {
    fs.linkSync(temp, file);
    return id;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readMarker(dir) ?? id;
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Skew above which the clock check warns: leases and schedules compare wall-clock times across hosts. */
export const MAX_CLOCK_SKEW_MS = 2000;

/** This host's clock against the database server's (PostgreSQL), halfway through the round trip. */
export function checkClock(store: Store, now: () => number = Date.now): CheckResult & { skewMs?: number } {
  if (store.db.dialect !== 'postgres') return { ok: true, message: 'one host (SQLite): nothing to compare' };
  const before = now();
  const [row] = store.db.sql<{ now: number | string }>('select (extract(epoch from clock_timestamp()) * 1000)::bigint as now');
  const after = now();
  const skewMs = Math.round((before + after) / 2 - Number(row!.now));
  const seconds = (Math.abs(skewMs) / 1000).toFixed(1);
  if (Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
    return {
      ok: true,
      warn: true,
      skewMs,
      message: `this host's clock is ${seconds} s ${skewMs > 0 ? 'ahead of' : 'behind'} the database server's; `
        + 'leases and schedules use wall-clock times: sync this host\'s clock (NTP)',
    };
  }
  return { ok: true, skewMs, message: `within ${Math.abs(skewMs)} ms of the database server's (round trip ${after - before} ms)` };
}
