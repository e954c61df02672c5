/**
 * `cligate doctor`: checks what the gateway needs, one line each, and says how to fix what fails.
 * Exit code 0 when everything needed works.
 */
import fs from 'node:fs';
import { platforms } from '../adapters/index.js';
import type { LoadedConfig } from './config/load.js';
import { Engines } from './engine/index.js';
import { silentLogger } from './log.js';
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
    store = Store.open(config.store.path);
    store.db.raw.prepare('select 1').get();
    add({ name: 'database', ok: true, message: `${config.store.path} (WAL, migrated)` });
  } catch (err) {
    add({ name: 'database', ok: false, message: `cannot open ${config.store.path}: ${(err as Error).message}. Check gateway.data_dir / store.path and that the folder is writable.` });
  }

  try {
    fs.mkdirSync(config.workspace.root, { recursive: true });
    fs.accessSync(config.workspace.root, fs.constants.W_OK);
    add({ name: 'workspaces', ok: true, message: config.workspace.root });
  } catch (err) {
    add({ name: 'workspaces', ok: false, message: `${config.workspace.root} is not writable: ${(err as Error).message}` });
  }

  if (config.queue.driver === 'bullmq' && store) {
    const { BullQueue, redactUrl } = await import('./queue/bullmq.js');
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
    if (store) add({ name: 'sandbox', ...proveContainment(engines.sandbox, config.store.path) });
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
