/**
 * The registry is how the core learns about platforms: these check that what a definition declares
 * reaches every part that needs it (config, environment, log scrubber, allow-list, system prompt),
 * using Matrix, the platform added without touching the core.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { accessPolicy } from '../src/accept.js';
import { loadConfig, type LoadedConfig } from '../src/config/load.js';
import { collectSecrets, silentLogger } from '../src/log.js';
import { sectionOf, type AnyPlatformDefinition } from '../src/platform.js';
import { gatewayContext } from '../src/worker.js';
import { messengerAdapters, platforms } from './index.js';

function load(toml: string, env: NodeJS.ProcessEnv = {}): LoadedConfig {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-registry-'));
  fs.writeFileSync(path.join(dir, 'cligate.toml'), toml);
  const result = loadConfig(path.join(dir, 'cligate.toml'), env);
  if (!result.ok) throw new Error(result.error);
  return result.config;
}

describe('the platform registry', () => {
  it('leaves every messenger off on defaults, and lets nobody in', () => {
    const config = load('');
    for (const platform of platforms as readonly AnyPlatformDefinition[]) {
      const section = sectionOf(config, platform);
      if (platform.access(section).open) continue;
      expect(platform.enabled(section), platform.name).toBe(false);
      expect(platform.access(section).users, platform.name).toEqual([]);
    }
  });

  it('names a mistyped key with its section, as for the core\'s keys', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-registry-'));
    fs.writeFileSync(path.join(dir, 'cligate.toml'), '[matrix]\nallowed_user = ["@a:x"]\n');
    const result = loadConfig(path.join(dir, 'cligate.toml'), {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toContain('unknown key "matrix.allowed_user" (did you mean "allowed_users"?)');
  });

  it('fills a platform\'s keys from its environment variables and scrubs its secrets from logs', () => {
    const config = load('[matrix]\nhomeserver_url = "https://m.example"\n', { MATRIX_ACCESS_TOKEN: 'syt_from_the_environment' });
    expect(config.matrix.access_token).toBe('syt_from_the_environment');
    expect(collectSecrets(config, {})).toContain('syt_from_the_environment');
    expect(collectSecrets(config, { MATRIX_ACCESS_TOKEN: 'syt_only_in_env_123' })).toContain('syt_only_in_env_123');
  });

  it('refuses to start a platform whose settings cannot work, saying which key to set', async () => {
    const config = load('[matrix]\naccess_token = "syt_token_without_server"\n');
    await expect(messengerAdapters(config, silentLogger)).rejects.toThrow(/matrix\.homeserver_url is empty/);
  });

  it('makes the adapters the config switches on, importing each SDK only then', async () => {
    const config = load('[http]\nenabled = false\n[matrix]\nhomeserver_url = "http://127.0.0.1:1"\naccess_token = "syt_token"\nuser_id = "@bot:example.org"\n');
    const adapters = await messengerAdapters(config, silentLogger);
    expect(adapters.map((a) => a.platform)).toEqual(['matrix']);
  });

  it('gives the allow-list and the system prompt what the definition says', () => {
    const config = load('[matrix]\nallowed_users = ["@alice:example.org"]\nallowed_rooms = ["!room:example.org"]\n');
    expect(accessPolicy(config, 'matrix')).toMatchObject({ open: false, users: ['@alice:example.org'], places: ['!room:example.org'], placesKey: 'allowed_rooms' });
    expect(accessPolicy(config, 'no-such-platform')).toMatchObject({ open: false, users: [] });
    expect(gatewayContext('matrix')).toContain('from a Matrix chat');
  });
});
