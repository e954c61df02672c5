/**
 * `cligate doctor`: checks what the gateway needs, one line each, and says how to fix what fails.
 * Exit code 0 when everything needed works.
 */
import fs from 'node:fs';
import type { LoadedConfig } from './config/load.js';
import { Engines } from './engine/index.js';
import { silentLogger } from './log.js';
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

  for (const [platform, users, on] of [
    ['telegram', config.telegram.allowed_users, !!config.telegram.token],
    ['slack', config.slack.allowed_users, !!config.slack.bot_token],
    ['discord', config.discord.allowed_users, !!config.discord.token],
  ] as const) {
    if (!on) continue;
    add(users.length
      ? { name: platform, ok: true, message: `token set; ${users.length} allowed user(s)` }
      : { name: platform, ok: true, warn: true, message: `token set but ${platform}.allowed_users is empty, so nobody can use the bot. Message it once: it replies with your user id to add there.` });
  }
  store?.close();
  const failed = checks.filter((c) => !c.ok);
  print(failed.length ? `\n${failed.length} problem(s) to fix.` : '\nAll good.');
  return failed.length ? 1 : 0;
}
