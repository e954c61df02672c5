import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { unwrapSignal } from '../engine/process.js';
import { bwrapArgs } from './bwrap.js';
import { Sandbox, SandboxError, sandboxFailure, type GatewayPaths } from './index.js';

let dir: string | undefined;
afterEach(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

function paths(): GatewayPaths {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-sandbox-'));
  const dataDir = path.join(dir, 'data');
  return { dataDir, workspaceRoot: path.join(dataDir, 'workspaces'), database: path.join(dataDir, 'cligate.db'), configFile: path.join(dir, 'cligate.toml') };
}

const launch = (cwd: string) => ({ engine: 'claude' as const, conversationId: 'local:A', cwd, bin: '/usr/bin/claude', args: ['-p'], env: { PATH: '/usr/bin', CLAUDE_CONFIG_DIR: '/nowhere' } });

describe('the bubblewrap command line', () => {
  const plan = { workspace: '/data/ws/a', home: '/data/homes/a', hideDirs: ['/data/ws', '/data', '/root'], hideFiles: ['/data/cligate.db', '/etc/cligate.toml'], runFrom: ['/root/.local/share/claude', '/usr/lib/node'] };

  it('hides the gateway\'s folders (parents first), binds back the workspace and home, drops root\'s capabilities', () => {
    const args = bwrapArgs(plan, '/usr/bin/claude', ['-p', 'x']);
    const line = args.join(' ');
    expect(line.startsWith('--ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --tmpfs /data --tmpfs /root --tmpfs /data/ws')).toBe(true);
    expect(line).toContain('--bind /data/ws/a /data/ws/a --bind /data/homes/a /data/homes/a');
    expect(line).toContain('--cap-drop ALL --die-with-parent --unshare-pid --new-session --chdir /data/ws/a -- /usr/bin/claude -p x');
    // Under a hidden folder already: no empty file that would make it reappear.
    expect(line).not.toContain('/data/cligate.db');
    // Only what runs from a hidden folder is bound back.
    expect(line).not.toContain('/usr/lib/node');
  });

  it('keeps a terminal tab\'s own pseudo-terminal as its controlling terminal (no --new-session), and nothing else changes', () => {
    const line = bwrapArgs({ ...plan, ownTerminal: true }, '/bin/bash', []).join(' ');
    expect(line).toContain('--cap-drop ALL --die-with-parent --unshare-pid --chdir /data/ws/a -- /bin/bash');
    expect(line).not.toContain('--new-session');
  });
});

describe('a CLI\'s end inside bubblewrap', () => {
  it('exit code 128 + n is death by signal n; other codes stay codes', () => {
    expect(unwrapSignal(139, null)).toEqual({ code: null, signal: 'SIGSEGV' });
    expect(unwrapSignal(137, null)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(unwrapSignal(1, null)).toEqual({ code: 1, signal: null });
    expect(unwrapSignal(null, 'SIGTERM')).toEqual({ code: null, signal: 'SIGTERM' });
  });
});

describe('sandbox.mode', () => {
  const works = () => ({ ok: true as const });
  const fails = () => ({ ok: false as const, reason: 'bubblewrap is not installed' });

  it('"auto" uses bubblewrap where it works', () => {
    expect(new Sandbox('auto', paths(), works).mode).toBe('bwrap');
  });

  it('"auto" falls back to none, says why and how to enable it', () => {
    const sandbox = new Sandbox('auto', paths(), fails);
    expect(sandbox.mode).toBe('none');
    expect(sandbox.describe()).toMatch(/none \(bubblewrap is not installed\).*apt-get install bubblewrap/);
  });

  it('"bwrap" refuses to start without it, naming the fix', () => {
    expect(() => new Sandbox('bwrap', paths(), fails)).toThrow(/sandbox.mode is "bwrap", but bubblewrap is not installed.*apt-get install bubblewrap/);
  });

  it('"none" runs the CLI itself, in its own CLI home', () => {
    const p = paths();
    const cwd = path.join(p.workspaceRoot, 'a');
    const command = new Sandbox('none', p, fails).command(launch(cwd));
    expect(command.bin).toBe('/usr/bin/claude');
    expect(command.env.CLAUDE_CONFIG_DIR).toMatch(new RegExp(`^${p.dataDir}/cli-homes/claude/local_A-[0-9a-f]+/\\.claude$`));
  });

  it('"bwrap" runs the file a link leads to, with its install dir bound back, when the link sits in a hidden folder', () => {
    const p = paths();
    const install = path.join(p.dataDir, 'tools', 'node_modules', 'cli');
    fs.mkdirSync(install, { recursive: true });
    fs.writeFileSync(path.join(install, 'cli.js'), '');
    fs.mkdirSync(path.join(p.dataDir, 'bin'));
    fs.symlinkSync(path.join(install, 'cli.js'), path.join(p.dataDir, 'bin', 'cli'));
    const command = new Sandbox('bwrap', p, works).command({ ...launch(path.join(p.workspaceRoot, 'a')), bin: path.join(p.dataDir, 'bin', 'cli') });
    const line = command.args.join(' ');
    expect(line).toContain(`--ro-bind ${path.join(p.dataDir, 'tools', 'node_modules')} ${path.join(p.dataDir, 'tools', 'node_modules')}`);
    expect(line).toContain(`-- ${path.join(install, 'cli.js')} -p`);
  });

  it('a CLI home that cannot be made is a turn error naming what to check, not a crash', () => {
    const p = paths();
    fs.writeFileSync(p.dataDir, 'a file where the data dir should be');
    const sandbox = new Sandbox('none', p, fails);
    let thrown: unknown;
    try {
      sandbox.command(launch(path.join(p.workspaceRoot, 'a')));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(SandboxError);
    expect(sandboxFailure(thrown)).toMatchObject({ ok: false, error: { code: 'engine_error', message: expect.stringMatching(/could not be prepared \(ENOTDIR\)\. Check that gateway\.data_dir is writable by cligate\.$/) } });
    expect(() => sandboxFailure(new Error('a bug'))).toThrow('a bug');
  });

  it('"bwrap" wraps it, hiding the data dir and the login', () => {
    const p = paths();
    const cwd = path.join(p.workspaceRoot, 'a');
    const command = new Sandbox('bwrap', p, works).command(launch(cwd));
    expect(command.bin).toBe('bwrap');
    const line = command.args.join(' ');
    expect(line).toContain(`--tmpfs ${p.dataDir}`);
    expect(line).toContain(`--bind ${cwd} ${cwd}`);
    expect(line).toContain(`-- /usr/bin/claude -p`);
  });
});
