/** The `cligate` command itself: bad config, doctor, start and a graceful stop. */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { cliEnv, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';

const fake = new AnthropicFake();
beforeAll(async () => {
  await fake.start();
});
afterAll(async () => {
  await fake.stop();
});

describe('cligate', () => {
  it('refuses a broken config with a message naming the key, and exit code 2', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'bad.toml'), '[worker]\nconcurrency = -3\n[telgram]\ntoken = "x"\n');
    const p = spawnCligate(['start', '--config', path.join(dir, 'bad.toml')], cliEnv(fake, dir));
    expect((await p.exited).code).toBe(2);
    const err = p.stderr.join('\n');
    expect(err).toContain('worker.concurrency');
    expect(err).toContain('unknown key "telgram" (did you mean "telegram"?)');
  });

  it('doctor checks the database and that the CLI answers', async () => {
    const dir = tmpDir();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), { voice: { local: { offline: true } } }));
    const p = spawnCligate(['doctor', '--config', config], cliEnv(fake, dir));
    expect((await p.exited).code).toBe(0);
    const out = p.stdout.join('\n');
    expect(out).toMatch(/^[✓!] node: \d+\.\d+\.\d+/m);
    expect(out).toMatch(/✓ database: .*cligate\.db/);
    expect(out).toMatch(/✓ engine claude: claude 2\.1\.330 .* logged in, answered in \d+ ms/);
    // Voice: which backend, and why it cannot work yet (a warning: the gateway runs without it).
    expect(out).toMatch(/^! voice: local Whisper onnx-community\/whisper-base \(transformers\.js, .*\): the speech model onnx-community\/whisper-base could not be loaded \(.*\)\. cligate looked in .* \(voice\.local\.offline is on, so nowhere else\)/m);
  });

  it('doctor says how to fix a missing CLI and a logged-out one', async () => {
    const dir = tmpDir();
    const missing = writeConfig(dir, testConfig(path.join(dir, 'data'), { engine: { claude: { path: path.join(dir, 'no-claude') } } }), 'missing.toml');
    const p = spawnCligate(['doctor', '--config', missing], cliEnv(fake, dir));
    expect((await p.exited).code).toBe(1);
    expect(p.stdout.join('\n')).toMatch(/✗ engine claude: .*npm install.*engine\.claude\.path/);

    const good = writeConfig(dir, testConfig(path.join(dir, 'data')), 'good.toml');
    const env = cliEnv(fake, dir);
    delete env.ANTHROPIC_API_KEY;
    const q = spawnCligate(['doctor', '--config', good], env);
    expect((await q.exited).code).toBe(1);
    expect(q.stdout.join('\n')).toMatch(/✗ engine claude: .*not logged in.*\/login/);
  });

  it('starts with no token configured and stops cleanly on SIGTERM', async () => {
    const dir = tmpDir();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), { http: { enabled: false } }));
    const p = spawnCligate(['start', '--config', config], cliEnv(fake, dir));
    await p.waitFor(() => p.stderr.some((l) => l.includes('no messenger token configured')), 30_000, 'start-up notice');
    p.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });
});
