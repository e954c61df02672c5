/**
 * The Docker image and compose.yaml, checked where Docker cannot run (these machines have no daemon):
 * both files are parsed and held to the build output and the config, and the image's start command
 * runs as a plain process, with the image's and compose's environment, until the image's own health
 * check passes against it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { ENV_KEYS, loadConfig } from '../src/config/load.js';
import { DOCKER_NODE_LINE } from '../src/node-support.js';
import { CLI_ENTRY, PROJECT_ROOT } from '../src/paths.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { all, envOf, last, parseDockerfile } from './support/dockerfile.js';
import { cliEnv, eventually, freePort, spawnCligate, tmpDir, writeConfig } from './support/harness.js';
import { RedisServer } from './support/redis.js';

const read = (file: string) => fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8');
const stages = parseDockerfile(read('Dockerfile'));
const build = stages[0]!;
const image = stages.at(-1)!;
const imageEnv = envOf(image);
const workdir = last(image, 'WORKDIR')!;
const [volume] = JSON.parse(last(image, 'VOLUME')!) as string[];
const exposedPort = Number(last(image, 'EXPOSE'));
const compose = parseYaml(read('compose.yaml'), { merge: true }) as {
  services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; healthcheck?: { disable?: boolean; test?: string[] }; depends_on?: Record<string, { condition: string }> }>;
  volumes: Record<string, unknown>;
};
const { gateway, worker, redis: redisService } = compose.services as Record<string, (typeof compose.services)[string]>;

/** Compose's `${NAME:-default}`, from the shell's environment. */
function interpolate(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*))?\}/g, (_, name: string, fallback = '') => env[name] || fallback);
}

describe('Dockerfile', () => {
  it(`builds and runs on Node ${DOCKER_NODE_LINE}`, () => {
    for (const stage of stages) expect(stage.image).toMatch(new RegExp(`^node:${DOCKER_NODE_LINE}-`));
  });

  it('copies in everything the build reads', () => {
    const copied = all(build, 'COPY').flatMap((args) => args.split(/\s+/).slice(0, -1));
    const include = (JSON.parse(read('tsconfig.json')) as { include: string[] }).include;
    expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', ...include, 'migrations']));
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    expect(copied.filter((c) => ignored.includes(c))).toEqual([]);
  });

  it("its entrypoint is the built CLI, the package's bin, which the build stage's clean-up keeps", () => {
    const [tini, dashes, node, script] = JSON.parse(last(image, 'ENTRYPOINT')!) as string[];
    expect([tini, dashes, node]).toEqual(['tini', '--', 'node']);
    expect(all(image, 'COPY')).toContain(`--from=build ${workdir} ${workdir}`);
    const inRepo = path.relative(workdir, script!);
    expect(path.join(PROJECT_ROOT, inRepo)).toBe(CLI_ENTRY);
    expect(fs.existsSync(CLI_ENTRY)).toBe(true);
    expect((JSON.parse(read('package.json')) as { bin: Record<string, string> }).bin.cligate).toBe(inRepo);
    const removed = all(build, 'RUN').flatMap((run) => [...run.matchAll(/rm -rf ([^&;]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)));
    expect(removed.filter((r) => inRepo === r || inRepo.startsWith(`${r.replace(/\/$/, '')}/`))).toEqual([]);
  });

  it('keeps the database, workspaces, models and CLI sessions on its volume, which compose mounts', () => {
    expect(imageEnv.CLIGATE_DATA_DIR).toBe(volume);
    expect(imageEnv.CLAUDE_CONFIG_DIR).toMatch(new RegExp(`^${volume}/`));
    const loaded = loadConfig(writeConfig(tmpDir(), {}), imageEnv);
    if (!loaded.ok) throw new Error(loaded.error);
    for (const where of [loaded.config.store.path, loaded.config.workspace.root, loaded.config.memory.cache_dir]) expect(where).toMatch(new RegExp(`^${volume}/`));
    for (const service of [gateway, worker]) expect(service!.volumes).toContain(`data:${volume}`);
    expect(Object.keys(compose.volumes)).toContain('data');
  });
});

describe('compose.yaml', () => {
  it('passes only settings cligate or the claude CLI read, and points Redis at its own service', () => {
    const known = [...Object.keys(ENV_KEYS), 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_API_KEY'];
    expect(Object.keys(gateway!.environment!).filter((key) => !known.includes(key))).toEqual([]);
    expect(new URL(gateway!.environment!.REDIS_URL!).hostname).toBe('redis');
    expect(gateway!.depends_on).toEqual({ redis: { condition: 'service_healthy' } });
    expect(redisService!.healthcheck?.test).toBeDefined();
  });

  it('runs one gateway, on the port the image exposes and the config defaults to, and workers without a health check', () => {
    expect(gateway!.command).toEqual(['start', '--role', 'gateway']);
    expect(worker!.command).toEqual(['start', '--role', 'worker']);
    expect(gateway!.ports).toEqual([`127.0.0.1:${exposedPort}:${exposedPort}`]);
    const defaults = loadConfig(writeConfig(tmpDir(), {}), {});
    expect(defaults.ok && defaults.config.http.port).toBe(exposedPort);
    // Workers serve no HTTP: the image's health check would fail on them.
    expect(worker!.healthcheck).toEqual({ disable: true });
  });
});

describe("compose's gateway, run as a plain process", () => {
  const fake = new AnthropicFake();
  let redis: RedisServer;
  beforeAll(async () => {
    [redis] = await Promise.all([RedisServer.start(), fake.start()]);
  });
  afterAll(async () => {
    await Promise.all([redis?.stop(), fake.stop()]);
  });

  it("passes the image's health check", async () => {
    const dir = tmpDir();
    const port = await freePort();
    const local = cliEnv(fake, dir);
    const composeEnv = Object.fromEntries(Object.entries(gateway!.environment!).map(([k, v]) => [k, interpolate(v, local)]));
    const env = {
      ...local, ...imageEnv, ...composeEnv,
      // Docker's paths, address and network, on this machine.
      CLIGATE_DATA_DIR: path.join(dir, 'data'), CLAUDE_CONFIG_DIR: local.CLAUDE_CONFIG_DIR, CLIGATE_HTTP_HOST: '127.0.0.1',
      CLIGATE_HTTP_PORT: String(port), REDIS_URL: redis.url,
    };
    const healthcheck = /\bCMD\s+(.*)$/.exec(last(image, 'HEALTHCHECK')!)![1]!.replaceAll(`:${exposedPort}/`, `:${port}/`);
    const process = spawnCligate(gateway!.command!, env, dir);
    try {
      await eventually(() => spawnSync('/bin/sh', ['-c', healthcheck], { env, timeout: 5000 }).status === 0, 30_000, 'the health check to pass', 300);
    } finally {
      process.kill('SIGTERM');
      await process.exited;
    }
  });
});
