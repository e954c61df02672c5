/** What `npm test` decides about missing system tools, on machines described by a stand-in probe. */
import { describe, expect, it } from 'vitest';
import { describeStep, planSetup } from './plan.js';
import { SYSTEM_TOOLS, type SystemProbe } from './tools.js';

// The decisions, shown with two of the tools (the third, bubblewrap, is one more of the same).
const TWO_TOOLS = SYSTEM_TOOLS.filter((t) => t.name === 'redis-server' || t.name === 'chromium');
const setupFor = (machine: SystemProbe) => planSetup(machine, TWO_TOOLS);

interface Machine {
  /** Commands on PATH, by name. */
  onPath?: string[];
  env?: Record<string, string>;
  /** Files outside PATH that can be run. */
  executables?: string[];
  /** What is in some folders, by folder. */
  folders?: Record<string, string[]>;
  isRoot?: boolean;
  sudo?: boolean;
  distro?: string[];
}

function probe(machine: Machine): SystemProbe & { sudoAsked: () => boolean } {
  let asked = false;
  const onPath = new Set(machine.onPath ?? []);
  return {
    which: (command) => (onPath.has(command) ? `/usr/bin/${command}` : undefined),
    isExecutable: (file) => (machine.executables ?? []).includes(file),
    list: (dir) => machine.folders?.[dir] ?? [],
    env: machine.env ?? {},
    isRoot: machine.isRoot ?? false,
    canSudo: () => {
      asked = true;
      return machine.sudo ?? false;
    },
    distro: machine.distro ?? ['debian'],
    sudoAsked: () => asked,
  };
}

const steps = (machine: Machine) => {
  const plan = setupFor(probe(machine));
  if (plan.kind !== 'install') throw new Error(`expected an install, got ${JSON.stringify(plan)}`);
  return plan.steps.map(describeStep);
};

describe('planSetup', () => {
  it('does nothing when both tools are on PATH, and asks nothing of sudo', () => {
    const machine = probe({ onPath: ['redis-server', 'chromium'] });
    expect(setupFor(machine)).toEqual({ kind: 'ready', found: [{ name: 'redis-server', path: '/usr/bin/redis-server' }, { name: 'chromium', path: '/usr/bin/chromium' }] });
    expect(machine.sudoAsked()).toBe(false);
  });

  it('takes Chromium from CHROMIUM_PATH, or as chromium-browser', () => {
    expect(setupFor(probe({ onPath: ['redis-server'], env: { CHROMIUM_PATH: '/opt/chrome/chrome' }, executables: ['/opt/chrome/chrome'] })))
      .toMatchObject({ kind: 'ready', found: [{ name: 'redis-server' }, { name: 'chromium', path: '/opt/chrome/chrome' }] });
    expect(setupFor(probe({ onPath: ['redis-server', 'chromium-browser'] })))
      .toMatchObject({ kind: 'ready', found: [{ name: 'redis-server' }, { name: 'chromium', path: '/usr/bin/chromium-browser' }] });
  });

  it('stops on a CHROMIUM_PATH that cannot be run, even as root: installing would not help', () => {
    expect(setupFor(probe({ onPath: ['redis-server', 'chromium', 'apt-get'], env: { CHROMIUM_PATH: '/nowhere/chrome' }, isRoot: true }))).toEqual({
      kind: 'stop', reason: 'CHROMIUM_PATH=/nowhere/chrome is not an executable file.', fix: 'unset CHROMIUM_PATH   # or point it at chromium',
    });
  });

  it('as root: apt-get update, then one install for everything missing', () => {
    expect(steps({ onPath: ['apt-get'], isRoot: true })).toEqual([
      'DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get update -qq',
      'DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y --no-install-recommends redis-server chromium',
    ]);
  });

  it('with passwordless sudo: the same through sudo -n, only for what is missing', () => {
    expect(steps({ onPath: ['apt-get', 'redis-server'], sudo: true })).toEqual([
      'sudo -n DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get update -qq',
      'sudo -n DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y --no-install-recommends chromium',
    ]);
  });

  it("on Ubuntu, Chromium's package is chromium-browser", () => {
    expect(steps({ onPath: ['apt-get', 'redis-server'], isRoot: true, distro: ['ubuntu', 'debian'] }).at(-1)).toMatch(/install -y --no-install-recommends chromium-browser$/);
  });

  it('a user who is neither root nor allowed sudo without a password gets the line to run', () => {
    const machine = probe({ onPath: ['apt-get'] });
    expect(setupFor(machine)).toEqual({
      kind: 'stop',
      reason: 'The tests need redis-server and chromium, not found on PATH; installing them takes root, and this user is not root and has no sudo without a password.',
      fix: 'sudo apt-get update && sudo apt-get install -y --no-install-recommends redis-server chromium',
    });
    expect(machine.sudoAsked()).toBe(true);
  });

  it('without apt-get, names what to install', () => {
    expect(setupFor(probe({ onPath: ['chromium'], isRoot: true }))).toEqual({
      kind: 'stop',
      reason: 'The tests need redis-server, not found on PATH, and this machine has no apt-get to install it with.',
      fix: 'install redis-server with your package manager, so that it is on PATH',
    });
  });

  describe('postgres, which Debian keeps off PATH in a folder per version', () => {
    const POSTGRES = SYSTEM_TOOLS.filter((t) => t.name === 'postgres');
    const versions = { '/usr/lib/postgresql': ['9.6', '13', '15', '16'] };

    it('is taken from PATH first, else from the highest version that has it (16 here is an empty leftover)', () => {
      const installed = ['/usr/lib/postgresql/9.6/bin/postgres', '/usr/lib/postgresql/13/bin/postgres', '/usr/lib/postgresql/15/bin/postgres'];
      expect(planSetup(probe({ onPath: ['postgres'], folders: versions, executables: installed }), POSTGRES))
        .toEqual({ kind: 'ready', found: [{ name: 'postgres', path: '/usr/bin/postgres' }] });
      expect(planSetup(probe({ folders: versions, executables: installed }), POSTGRES))
        .toEqual({ kind: 'ready', found: [{ name: 'postgres', path: '/usr/lib/postgresql/15/bin/postgres' }] });
    });

    it('is installed as the package postgresql when it is in neither', () => {
      const plan = planSetup(probe({ onPath: ['apt-get'], folders: versions, isRoot: true }), POSTGRES);
      expect(plan.kind === 'install' && plan.steps.map(describeStep).at(-1))
        .toBe('DEBIAN_FRONTEND=noninteractive /usr/bin/apt-get install -y --no-install-recommends postgresql');
    });
  });
});
