/**
 * What the test suite needs from the machine rather than from npm, and how to find each piece:
 * `npm test` checks (and installs) them first, and the tests that use them look them up here.
 */

/** The facts about the machine that finding and installing depend on; tests pass their own. */
export interface SystemProbe {
  /** Where `command` is on PATH, if it is. */
  which(command: string): string | undefined;
  /** Whether `file` is an executable file (for a path given in the environment). */
  isExecutable(file: string): boolean;
  env: Record<string, string | undefined>;
  /** Whether a data file is there (for a tool that needs more than its program). */
  exists?(file: string): boolean;
  /** The names in a folder, none if it is not there (for a tool kept in a folder per version). */
  list?(dir: string): string[];
  isRoot: boolean;
  /** Whether sudo runs here without asking for a password (only asked when it matters). */
  canSudo(): boolean;
  /** ID and ID_LIKE from /etc/os-release, such as ['ubuntu', 'debian']. */
  distro: string[];
}

export interface SystemTool {
  name: string;
  /** The names it goes by on PATH, tried in order. */
  commands: string[];
  /** An environment variable that points at it instead of PATH. */
  pathVariable?: string;
  /**
   * The folder its package puts it in off PATH, with `*` for the version's folder (Debian's PostgreSQL 15
   * is in /usr/lib/postgresql/15/bin): looked in after PATH, highest version first.
   */
  versionedDir?: string;
  /** Data files it needs besides the program (a model, test recordings): missing ones count as the tool missing. */
  files?: string[];
  /** The apt package that provides it on this distribution (several: separated by spaces). */
  aptPackage(distro: string[]): string;
}

/** A person saying "go forward ten meters": 16 kHz, 16-bit, mono, raw (Debian's pocketsphinx-testdata). */
export const POCKETSPHINX_CLIP = '/usr/share/pocketsphinx/test/data/goforward.raw';

export const SYSTEM_TOOLS: SystemTool[] = [
  // The queue and crash tests start their own Redis on a free port (test/support/redis.ts).
  { name: 'redis-server', commands: ['redis-server'], aptPackage: () => 'redis-server' },
  // The web chat test drives it with playwright-core. Ubuntu ships Chromium as a snap behind this package.
  {
    name: 'chromium', commands: ['chromium', 'chromium-browser'], pathVariable: 'CHROMIUM_PATH',
    aptPackage: (distro) => (distro.includes('ubuntu') ? 'chromium-browser' : 'chromium'),
  },
  // The isolation tests run each CLI in its sandbox (sandbox.mode = "auto" is bubblewrap where it runs).
  { name: 'bubblewrap', commands: ['bwrap'], aptPackage: () => 'bubblewrap' },
  // The voice tests hear a real recording (goforward.raw) with pocketsphinx and its English model...
  {
    name: 'pocketsphinx', commands: ['pocketsphinx_continuous'],
    files: [POCKETSPHINX_CLIP, '/usr/share/pocketsphinx/model/en-us/en-us/mdef'],
    aptPackage: () => 'pocketsphinx pocketsphinx-en-us pocketsphinx-testdata',
  },
  // ...sent as an OGG/Opus voice note, encoded by opusenc.
  { name: 'opusenc', commands: ['opusenc'], aptPackage: () => 'opus-tools' },
  // The store tests start their own PostgreSQL on a free port (test/support/postgres.ts), with initdb
  // and psql from the same folder. Debian keeps these in a folder per major version, off PATH.
  { name: 'postgres', commands: ['postgres'], versionedDir: '/usr/lib/postgresql/*/bin', aptPackage: () => 'postgresql' },
];

export type Location =
  | { tool: SystemTool; path: string }
  | { tool: SystemTool; missing: true }
  /** The environment names a file that cannot be run: installing would not fix that. */
  | { tool: SystemTool; badVariable: { name: string; value: string } };

export function locate(tool: SystemTool, probe: Pick<SystemProbe, 'which' | 'isExecutable' | 'env' | 'exists' | 'list'>): Location {
  const fromEnv = tool.pathVariable ? probe.env[tool.pathVariable] : undefined;
  if (fromEnv) return probe.isExecutable(fromEnv) ? { tool, path: fromEnv } : { tool, badVariable: { name: tool.pathVariable!, value: fromEnv } };
  if (tool.files && probe.exists && !tool.files.every((f) => probe.exists!(f))) return { tool, missing: true };
  for (const command of tool.commands) {
    const found = probe.which(command);
    if (found) return { tool, path: found };
  }
  for (const dir of versionDirs(tool, probe)) {
    const found = tool.commands.map((command) => `${dir}/${command}`).find((file) => probe.isExecutable(file));
    if (found) return { tool, path: found };
  }
  return { tool, missing: true };
}

/** The folders `tool.versionedDir` names on this machine, highest version first (16 before 9.6). */
function versionDirs(tool: SystemTool, probe: Pick<SystemProbe, 'list'>): string[] {
  if (!tool.versionedDir || !probe.list) return [];
  const [parent, rest] = tool.versionedDir.split('/*');
  const versions = probe.list(parent!).sort((a, b) => b.localeCompare(a, 'en', { numeric: true }));
  return versions.map((version) => `${parent}/${version}${rest}`);
}
