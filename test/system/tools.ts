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
];

export type Location =
  | { tool: SystemTool; path: string }
  | { tool: SystemTool; missing: true }
  /** The environment names a file that cannot be run: installing would not fix that. */
  | { tool: SystemTool; badVariable: { name: string; value: string } };

export function locate(tool: SystemTool, probe: Pick<SystemProbe, 'which' | 'isExecutable' | 'env' | 'exists'>): Location {
  const fromEnv = tool.pathVariable ? probe.env[tool.pathVariable] : undefined;
  if (fromEnv) return probe.isExecutable(fromEnv) ? { tool, path: fromEnv } : { tool, badVariable: { name: tool.pathVariable!, value: fromEnv } };
  if (tool.files && probe.exists && !tool.files.every((f) => probe.exists!(f))) return { tool, missing: true };
  for (const command of tool.commands) {
    const found = probe.which(command);
    if (found) return { tool, path: found };
  }
  return { tool, missing: true };
}
