/**
 * Deciding what `npm test` does about missing system tools: nothing, install them with one apt-get
 * (as root, or through passwordless sudo), or stop at once with the one line that installs them.
 * Pure: the machine comes in as a SystemProbe, so every branch is tested without running apt.
 */
import { locate, SYSTEM_TOOLS, type SystemProbe, type SystemTool } from './tools.js';

export interface Step {
  argv: string[];
  env: Record<string, string>;
}

export type Plan =
  | { kind: 'ready'; found: { name: string; path: string }[] }
  | { kind: 'install'; names: string[]; packages: string[]; steps: Step[] }
  | { kind: 'stop'; reason: string; fix: string };

// No recommended packages: a headless Chromium and a bare redis-server are all the tests use.
const INSTALL = ['install', '-y', '--no-install-recommends'];

export function planSetup(probe: SystemProbe, tools: SystemTool[] = SYSTEM_TOOLS): Plan {
  const located = tools.map((tool) => locate(tool, probe));
  for (const l of located) {
    if ('badVariable' in l) {
      const { name, value } = l.badVariable;
      return { kind: 'stop', reason: `${name}=${value} is not an executable file.`, fix: `unset ${name}   # or point it at ${l.tool.name}` };
    }
  }
  const found = located.flatMap((l) => ('path' in l ? [{ name: l.tool.name, path: l.path }] : []));
  const missing = located.flatMap((l) => ('missing' in l ? [l.tool] : []));
  if (!missing.length) return { kind: 'ready', found };

  const names = missing.map((t) => t.name);
  const packages = missing.flatMap((t) => t.aptPackage(probe.distro).split(' '));
  const needs = `The tests need ${list(names)}, not found on PATH`;
  const aptGet = probe.which('apt-get');
  if (!aptGet) {
    return { kind: 'stop', reason: `${needs}, and this machine has no apt-get to install ${them(names)} with.`, fix: `install ${list(names)} with your package manager, so that ${names.length > 1 ? 'they are' : 'it is'} on PATH` };
  }
  const noninteractive = { DEBIAN_FRONTEND: 'noninteractive' };
  if (probe.isRoot) {
    return { kind: 'install', names, packages, steps: [{ argv: [aptGet, 'update', '-qq'], env: noninteractive }, { argv: [aptGet, ...INSTALL, ...packages], env: noninteractive }] };
  }
  if (probe.canSudo()) {
    const sudo = ['sudo', '-n', 'DEBIAN_FRONTEND=noninteractive', aptGet];
    return { kind: 'install', names, packages, steps: [{ argv: [...sudo, 'update', '-qq'], env: {} }, { argv: [...sudo, ...INSTALL, ...packages], env: {} }] };
  }
  return {
    kind: 'stop',
    reason: `${needs}; installing ${them(names)} takes root, and this user is not root and has no sudo without a password.`,
    fix: `sudo apt-get update && sudo apt-get ${[...INSTALL, ...packages].join(' ')}`,
  };
}

/** A step as a person would type it. */
export function describeStep(step: Step): string {
  return [...Object.entries(step.env).map(([k, v]) => `${k}=${v}`), ...step.argv].join(' ');
}

function list(names: string[]): string {
  return names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names.at(-1)}` : names[0]!;
}

function them(names: string[]): string {
  return names.length > 1 ? 'them' : 'it';
}
