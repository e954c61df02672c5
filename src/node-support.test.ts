/** The Node.js versions cligate supports: what doctor says, and that npm agrees (engines, the lockfile). */
import fs from 'node:fs';
import path from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';
import { CI_NODE_LINE, DOCKER_NODE_LINE, ENGINES_NODE, judgeNode, SUPPORTED_NODE } from './node-support.js';
import { PROJECT_ROOT } from './paths.js';

interface LockedPackage {
  engines?: { node?: string };
  os?: string[];
  cpu?: string[];
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, file), 'utf8'));

/** npm's platform rule: a list names what a package runs on, or ("!x") what it does not. */
function allows(list: string[] | undefined, value: string): boolean {
  if (!list?.length) return true;
  const denied = list.filter((v) => v.startsWith('!')).map((v) => v.slice(1));
  const allowed = list.filter((v) => !v.startsWith('!'));
  return !denied.includes(value) && (!allowed.length || allowed.includes(value));
}

/** The packages `npm ci` installs on this platform (cligate itself as ""), whose engines reject `version`. */
function rejecting(version: string): string[] {
  const packages = readJson('package-lock.json').packages as Record<string, LockedPackage>;
  return Object.entries(packages)
    .filter(([, p]) => allows(p.os, process.platform) && allows(p.cpu, process.arch))
    .filter(([, p]) => p.engines?.node && !semver.satisfies(version, p.engines.node))
    .map(([name]) => name.replace(/^node_modules\//, ''));
}

describe('Node.js support', () => {
  it("is what package.json's engines says", () => {
    expect(readJson('package.json').engines.node).toBe(ENGINES_NODE);
    expect(SUPPORTED_NODE.map((s) => s.line)).toContain(DOCKER_NODE_LINE);
  });

  it('npm ci warns of no engine on a supported line; on the CI line, of cligate, the claude CLI and the Matrix SDK', () => {
    for (const { from } of SUPPORTED_NODE) expect(rejecting(from), `Node ${from}`).toEqual([]);
    // matrix-js-sdk 43 and two of its own dependencies declare Node 22; the Matrix tests pass on 20 all the same.
    expect(rejecting(CI_NODE_LINE.from)).toEqual(['', '@anthropic-ai/claude-code', 'matrix-js-sdk', 'matrix-js-sdk/node_modules/content-type', 'matrix-js-sdk/node_modules/p-retry']);
  });

  it('doctor: fine on a supported line, a warning on the CI line and odd ones, a failure below', () => {
    expect(judgeNode('26.1.0')).toMatchObject({ level: 'ok', message: '26.1.0 (supported lines: 22, 24, 26; the Docker image runs 26)' });
    expect(judgeNode('22.13.0').level).toBe('ok');
    expect(judgeNode('v24.11.1').level).toBe('ok');
    expect(judgeNode('20.20.2')).toEqual({
      level: 'warn',
      message: "20.20.2: Node 20 is past its end of life and below the claude CLI's minimum (22). cligate still works on it (its own CI runs Node 20), but install Node 26 (LTS), or any of 22, 24, 26.",
    });
    expect(judgeNode('22.12.0')).toMatchObject({ level: 'warn', message: expect.stringContaining('22 from 22.13.0') });
    expect(judgeNode('25.2.0').level).toBe('warn');
    expect(judgeNode('18.20.4')).toEqual({ level: 'fail', message: '18.20.4 is too old for cligate: install Node 26 (LTS), or any of 22, 24, 26.' });
  });
});
