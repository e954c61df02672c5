/**
 * `npm test`'s first step, the real script, on a PATH without redis-server and Chromium: it stops
 * within seconds with the line to run, or (as root) installs through apt-get, here a stand-in that
 * only records how it was called.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT as ROOT } from '../../src/paths.js';
import { tmpDir } from '../support/harness.js';
import { hostProbe } from './host.js';

const host = hostProbe();
const setpriv = host.which('setpriv');
const NOBODY = 65534;

/** A PATH folder with only a stand-in apt-get, which records each call in `calls`. */
function bareMachine(): { dir: string; calls: string } {
  const dir = tmpDir('cligate-bare-path-');
  fs.chmodSync(dir, 0o777);
  fs.writeFileSync(path.join(dir, 'apt-get'), '#!/bin/sh\necho "$DEBIAN_FRONTEND $*" >> "${0%/*}/calls"\n', { mode: 0o755 });
  return { dir, calls: path.join(dir, 'calls') };
}

// PostgreSQL is found off PATH too, in /usr/lib/postgresql/<version>/bin: where it is installed there,
// the bare PATH does not hide it, and postgresql is not in the install line.
const POSTGRES = '( postgresql)?';

/** Runs test/system/prepare.ts with nothing but `dir` on PATH, as another user if `uid` is given. */
function prepare(dir: string, uid?: number) {
  const node = [process.execPath, '--import', 'tsx', path.join(ROOT, 'test/system/prepare.ts')];
  const [command, ...args] = uid === undefined ? node : [setpriv!, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', ...node];
  const started = Date.now();
  const run = spawnSync(command!, args, { cwd: ROOT, env: { PATH: dir }, encoding: 'utf8', timeout: 30_000 });
  return { ...run, ms: Date.now() - started };
}

describe('npm test on a machine without redis-server and Chromium', () => {
  // As root, the test runs the script as nobody; as anyone else, as itself (sudo is not on the bare PATH).
  it.runIf(!host.isRoot || setpriv)('stops at once, for a user without root or sudo, with the line that installs them', () => {
    const { dir, calls } = bareMachine();
    const run = prepare(dir, host.isRoot ? NOBODY : undefined);
    expect(run.status, run.stderr).toBe(1);
    expect(run.ms).toBeLessThan(10_000);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(new RegExp(`^ {2}sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server chromium(-browser)? bubblewrap pocketsphinx pocketsphinx-en-us pocketsphinx-testdata opus-tools${POSTGRES}$`));
    expect(fs.existsSync(calls)).toBe(false);
  });

  it.runIf(host.isRoot)('as root, installs both with one apt-get, and says so if they are still missing after', () => {
    const { dir, calls } = bareMachine();
    const run = prepare(dir);
    expect(run.stdout).toContain(`test prerequisites: DEBIAN_FRONTEND=noninteractive ${dir}/apt-get install -y --no-install-recommends redis-server chromium bubblewrap`);
    expect(fs.readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      'noninteractive update -qq',
      expect.stringMatching(new RegExp(`^noninteractive install -y --no-install-recommends redis-server chromium(-browser)? bubblewrap pocketsphinx pocketsphinx-en-us pocketsphinx-testdata opus-tools${POSTGRES}$`)),
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('still cannot be found on PATH');
  });
});
