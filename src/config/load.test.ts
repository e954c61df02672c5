import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';

function file(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-config-'));
  const f = path.join(dir, 'cligate.toml');
  fs.writeFileSync(f, text);
  return f;
}

describe('loadConfig', () => {
  it('runs on defaults with no file', () => {
    const result = loadConfig(undefined, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.queue.driver).toBe('sqlite');
    expect(result.config.http).toMatchObject({ host: '127.0.0.1', port: 8787 });
    expect(result.config.telegram.allowed_users).toEqual([]);
  });

  it('names an unknown key and suggests the right one', () => {
    const result = loadConfig(file('[worker]\nconcurency = 2\n'), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain('unknown key "worker.concurency" (did you mean "concurrency"?)');
  });

  it('names a key of the wrong type and what is expected', () => {
    const result = loadConfig(file('[worker]\nconcurrency = "four"\n[queue]\ndriver = "kafka"\n'), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain('worker.concurrency: expected number, got the string "four"');
    expect(result.error).toMatch(/queue\.driver: .*"sqlite"\|"bullmq"/);
  });

  it('names a bad time zone, schedule limit or webhook key', () => {
    const result = loadConfig(file([
      'webhooks = [{ path = "gh", kind = "github", secret = "short", conversation = "telegram", template = "x" }]',
      '[gateway]', 'timezone = "Mars/Olympus"', '[schedule]', 'catch_up = "all"',
    ].join('\n')), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/gateway\.timezone: an IANA time zone name/);
    expect(result.error).toMatch(/schedule\.catch_up: .*"one"\|"none"/);
    expect(result.error).toMatch(/webhooks\[0\]\.secret: at least 16 characters/);
    expect(result.error).toMatch(/webhooks\[0\]\.conversation: a full conversation id/);
  });

  it('reports broken TOML with its line', () => {
    const result = loadConfig(file('[telegram\ntoken = 1\n'), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toMatch(/is not valid TOML \(line 1/);
  });

  it('takes secrets from the environment over the file', () => {
    const result = loadConfig(file('[telegram]\ntoken = "from-file"\nallowed_users = [42]\n'), { TELEGRAM_BOT_TOKEN: '123:from-env', CLIGATE_HTTP_PORT: '9999' });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.telegram.token).toBe('123:from-env');
    expect(result.config.telegram.allowed_users).toEqual(['42']);
    expect(result.config.http.port).toBe(9999);
  });

  it('resolves paths against the config file\'s folder', () => {
    const f = file('[gateway]\ndata_dir = "state"\n');
    const result = loadConfig(f, {});
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.store.path).toBe(path.join(path.dirname(f), 'state', 'cligate.db'));
    expect(result.config.workspace.root).toBe(path.join(path.dirname(f), 'state', 'workspaces'));
  });

  it('refuses a missing file with its path', () => {
    const result = loadConfig('/nonexistent/cligate.toml', {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBe('cannot read config file /nonexistent/cligate.toml: ENOENT');
  });
});

describe('config.example.toml', () => {
  it('documents every key with its default value', async () => {
    const { parse } = await import('smol-toml');
    const { configSchema } = await import('./schema.js');
    const { PROJECT_ROOT } = await import('../paths.js');
    const raw = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'config.example.toml'), 'utf8')) as Record<string, unknown>;
    const defaults = configSchema.parse({});
    // Same values as the schema's defaults...
    expect(configSchema.parse(raw)).toEqual(defaults);
    // ...and every key written out.
    const missing: string[] = [];
    const walk = (want: Record<string, unknown>, have: Record<string, unknown>, prefix: string) => {
      for (const [key, value] of Object.entries(want)) {
        if (!(key in have)) missing.push(prefix + key);
        else if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length) {
          walk(value as Record<string, unknown>, have[key] as Record<string, unknown>, `${prefix}${key}.`);
        }
      }
    };
    walk(defaults as unknown as Record<string, unknown>, raw, '');
    expect(missing).toEqual([]);
  });
});
