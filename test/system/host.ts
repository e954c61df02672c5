/** The SystemProbe of the machine the tests run on, and the lookup tests use to find a system tool. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { planSetup } from './plan.js';
import { locate, SYSTEM_TOOLS, type SystemProbe } from './tools.js';

export function hostProbe(env: NodeJS.ProcessEnv = process.env): SystemProbe {
  const isExecutable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  return {
    which: (command) => (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, command)).find(isExecutable),
    isExecutable,
    exists: (file) => fs.existsSync(file),
    list: (dir) => {
      try {
        return fs.readdirSync(dir);
      } catch {
        return [];
      }
    },
    env,
    isRoot: process.getuid?.() === 0,
    canSudo: () => spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore' }).status === 0,
    distro: osRelease(),
  };
}

/** The path of a system tool for a test, or an error that says how to get it. */
export function requireTool(name: string): string {
  const probe = hostProbe();
  const location = locate(SYSTEM_TOOLS.find((t) => t.name === name)!, probe);
  if ('path' in location) return location.path;
  const plan = planSetup(probe);
  const fix = plan.kind === 'stop' ? plan.fix : 'npm test (it installs what the tests need)';
  const elsewhere = [location.tool.pathVariable, location.tool.versionedDir].filter(Boolean).map((where) => ` nor in ${where}`).join('');
  throw new Error(`${name} is not installed (not on PATH${elsewhere}). Run: ${fix}`);
}

function osRelease(): string[] {
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const value = (key: string) => text.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1]?.replace(/^"|"$/g, '');
    return [value('ID'), ...(value('ID_LIKE') ?? '').split(' ')].filter((v): v is string => !!v);
  } catch {
    return [];
  }
}
