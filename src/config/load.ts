/**
 * Reads the TOML file, lays secrets from the environment over it, validates the whole thing once and
 * resolves paths. Every problem comes back as text that names the key and what is expected.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';
import { platforms } from '../../adapters/index.js';
import type { AnyPlatformDefinition } from '../platform.js';
import { configSchema, type Config } from './schema.js';

export type LoadedConfig = Config & {
  /** Where the file was read from; empty when running on defaults. */
  source: string;
};

export type ConfigResult = { ok: true; config: LoadedConfig } | { ok: false; error: string };

/** Environment variables that override keys, so secrets need not sit in the file: each platform's, then the core's. */
export const ENV_KEYS: Record<string, string> = {
  ...Object.fromEntries((platforms as readonly AnyPlatformDefinition[]).flatMap((p) => Object.entries(p.env ?? {}).map(([name, key]) => [name, `${p.name}.${key}`]))),
  REDIS_URL: 'queue.redis_url',
  DATABASE_URL: 'store.url',
  CLIGATE_STORE_DRIVER: 'store.driver',
  CLIGATE_QUEUE_DRIVER: 'queue.driver',
  CLIGATE_DATA_DIR: 'gateway.data_dir',
  CLIGATE_HTTP_HOST: 'http.host',
  CLIGATE_HTTP_PORT: 'http.port',
  CLIGATE_LOG_LEVEL: 'gateway.log_level',
};

/** The file used when `--config` is not given, if it exists. */
export const DEFAULT_CONFIG_FILE = 'cligate.toml';

export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  let raw: Record<string, unknown> = {};
  let source = '';
  const candidate = file ?? (fs.existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  if (candidate) {
    source = path.resolve(candidate);
    let text: string;
    try {
      text = fs.readFileSync(source, 'utf8');
    } catch (err) {
      return { ok: false, error: `cannot read config file ${source}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
    }
    try {
      raw = parseToml(text) as Record<string, unknown>;
    } catch (err) {
      const where = err instanceof TomlError ? ` (line ${err.line}, column ${err.column})` : '';
      const first = String((err as Error).message).split('\n')[0];
      return { ok: false, error: `config file ${source} is not valid TOML${where}: ${first}` };
    }
  }
  for (const [name, key] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, key, key === 'http.port' ? Number(value) : value);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => describeIssue(issue, raw));
    return { ok: false, error: `invalid configuration${source ? ` in ${source}` : ''}:\n${lines.map((l) => `  - ${l}`).join('\n')}` };
  }
  return { ok: true, config: resolvePaths({ ...parsed.data, source }) };
}

function resolvePaths(config: LoadedConfig): LoadedConfig {
  const base = config.source ? path.dirname(config.source) : process.cwd();
  const dataDir = path.resolve(base, config.gateway.data_dir);
  const under = (value: string, fallback: string) => (value ? path.resolve(base, value) : path.join(dataDir, fallback));
  return {
    ...config,
    gateway: { ...config.gateway, data_dir: dataDir },
    store: { ...config.store, path: under(config.store.path, 'cligate.db') },
    workspace: { root: under(config.workspace.root, 'workspaces') },
    memory: { ...config.memory, cache_dir: under(config.memory.cache_dir, 'models') },
    voice: { ...config.voice, local: { ...config.voice.local, cache_dir: under(config.voice.local.cache_dir || config.memory.cache_dir, 'models') } },
  };
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys.at(-1)!] = value;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const where = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys
      .map((key) => {
        const hint = closest(key, known);
        const name = where ? `${where}.${key}` : key;
        return `unknown key "${name}"${hint ? ` (did you mean "${hint}"?)` : ''}; known keys here: ${known.join(', ')}`;
      })
      .join('\n  - ');
  }
  if (issue.code === 'invalid_type') {
    const got = describeValue(valueAt(raw, issue.path));
    return `${where || '(top level)'}: expected ${issue.expected}, got ${got}`;
  }
  return `${where || '(top level)'}: ${issue.message}`;
}

function formatPath(p: PropertyKey[]): string {
  return p.map((k, i) => (typeof k === 'number' ? `[${k}]` : `${i ? '.' : ''}${String(k)}`)).join('');
}

function valueAt(raw: unknown, p: PropertyKey[]): unknown {
  let node: any = raw;
  for (const k of p) node = node?.[k as any];
  return node;
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function knownKeys(p: PropertyKey[]): string[] {
  let schema: any = configSchema;
  for (const k of p) {
    schema = unwrap(schema);
    schema = schema?.shape?.[k as string] ?? schema?.def?.valueType ?? schema?.element;
  }
  schema = unwrap(schema);
  return schema?.shape ? Object.keys(schema.shape) : [];
}

function unwrap(schema: any): any {
  while (schema?.def?.innerType) schema = schema.def.innerType;
  return schema;
}

function closest(word: string, options: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const option of options) {
    const d = editDistance(word.toLowerCase(), option.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [option, d];
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length]!;
}
