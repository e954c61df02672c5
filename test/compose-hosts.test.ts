/**
 * compose.hosts.yaml, the several-hosts setup (PostgreSQL, Redis, a gateway, two workers and one
 * shared volume), checked where Docker cannot run: parsed and held to the image and the config.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ENV_KEYS, loadConfig } from '../src/config/load.js';
import { PROJECT_ROOT } from '../src/paths.js';
import { envOf, last, parseDockerfile } from './support/dockerfile.js';
import { tmpDir, writeConfig } from './support/harness.js';

interface Service {
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  deploy?: { replicas?: number };
  healthcheck?: { disable?: boolean; test?: string[] };
  depends_on?: Record<string, { condition: string }>;
}
interface ComposeFile {
  name?: string;
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
}

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const image = parseDockerfile(read('Dockerfile')).at(-1)!;
const imageEnv = envOf(image);
const [dataVolume] = JSON.parse(last(image, 'VOLUME')!) as string[];
const single = parseYaml(read('compose.yaml'), { merge: true }) as ComposeFile;
const hosts = parseYaml(read('compose.hosts.yaml'), { merge: true }) as ComposeFile;
const { gateway, worker, postgres, redis } = hosts.services as Record<string, Service>;

/** Compose's `${NAME:-default}`, with nothing set in the shell. */
const interpolate = (value: string) => value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, _name: string, fallback = '') => fallback);

describe('compose.hosts.yaml', () => {
  it('runs PostgreSQL 16, Redis, one gateway on the published port and two workers', () => {
    expect(Object.keys(hosts.services).sort()).toEqual(['gateway', 'postgres', 'redis', 'worker']);
    expect(postgres!.image).toMatch(/^postgres:16\b/);
    expect(gateway!.command).toEqual(['start', '--role', 'gateway']);
    expect(gateway!.ports).toEqual(single.services.gateway!.ports);
    expect(worker!.command).toEqual(['start', '--role', 'worker']);
    expect(worker!.deploy?.replicas).toBe(2);
    expect(worker!.ports).toBeUndefined();
    expect(worker!.healthcheck).toEqual({ disable: true });
    for (const service of [gateway, worker]) {
      expect(service!.depends_on).toEqual({ postgres: { condition: 'service_healthy' }, redis: { condition: 'service_healthy' } });
    }
    for (const service of [postgres, redis]) expect(service!.healthcheck?.test).toBeDefined();
  });

  it('mounts one volume at the same path, the data dir, in the gateway and the workers', () => {
    const mounts = [gateway, worker].map((service) => service!.volumes!.filter((v) => v.split(':')[1] === dataVolume));
    expect(mounts[0]).toHaveLength(1);
    expect(mounts[1]).toEqual(mounts[0]);
    const [volume] = mounts[0]![0]!.split(':');
    expect(Object.keys(hosts.volumes)).toContain(volume);
    // A named volume, not a host path: on real hosts it is the shared mount (NFS, EFS, RWX).
    expect(volume).toMatch(/^\w[\w.-]*$/);
  });

  it('sets the drivers and points them at their services, with what cligate reads', () => {
    const known = [...Object.keys(ENV_KEYS), 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_API_KEY'];
    for (const service of [gateway, worker]) {
      expect(service!.environment).toEqual(gateway!.environment);
      expect(Object.keys(service!.environment!).filter((key) => !known.includes(key))).toEqual([]);
    }
    const env = Object.fromEntries(Object.entries(gateway!.environment!).map(([k, v]) => [k, interpolate(v)]));
    expect(env).toMatchObject({ CLIGATE_STORE_DRIVER: 'postgres', CLIGATE_QUEUE_DRIVER: 'bullmq' });
    const database = new URL(env.DATABASE_URL!);
    expect(database.hostname).toBe('postgres');
    const pgEnv = Object.fromEntries(Object.entries(postgres!.environment!).map(([k, v]) => [k, interpolate(v)]));
    expect([database.username, database.password, database.pathname.slice(1)]).toEqual([pgEnv.POSTGRES_USER, pgEnv.POSTGRES_PASSWORD, pgEnv.POSTGRES_DB]);
    expect(new URL(env.REDIS_URL!).hostname).toBe('redis');

    // The image's environment and compose's, as cligate reads them: files on the shared volume.
    const loaded = loadConfig(writeConfig(tmpDir(), {}), { ...imageEnv, ...env });
    if (!loaded.ok) throw new Error(loaded.error);
    const { config } = loaded;
    expect(config.store).toMatchObject({ driver: 'postgres', url: env.DATABASE_URL });
    expect(config.queue).toMatchObject({ driver: 'bullmq', redis_url: env.REDIS_URL });
    expect(config.gateway.data_dir).toBe(dataVolume);
    expect(config.workspace.root).toMatch(new RegExp(`^${dataVolume}/`));
    expect(imageEnv.CLAUDE_CONFIG_DIR).toMatch(new RegExp(`^${dataVolume}/`));
  });

  it('leaves `docker compose up` (compose.yaml) the single-host setup, under another project name', () => {
    expect(Object.keys(single.services).sort()).toEqual(['gateway', 'redis', 'worker']);
    expect(single.services.gateway!.environment!.CLIGATE_STORE_DRIVER).toBeUndefined();
    // Without its own name, the hosts setup would take over compose.yaml's containers and volumes.
    expect(hosts.name).toBeTruthy();
    expect(hosts.name).not.toBe(single.name ?? path.basename(PROJECT_ROOT));
  });
});
