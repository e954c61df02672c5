/**
 * Which Node.js versions cligate supports, in one place: package.json's `engines`, the Docker image,
 * the README and `cligate doctor` say the same (a test holds them to it).
 */

/**
 * The LTS lines, each from its first release every installed package accepts. The claude CLI itself
 * needs 22 or newer.
 */
export const SUPPORTED_NODE = [
  { line: 22, from: '22.13.0' },
  { line: 24, from: '24.0.0' },
  { line: 26, from: '26.0.0' },
] as const;

/** The line the Docker image runs: the current Active LTS. */
export const DOCKER_NODE_LINE = 26;

/**
 * The line this repository's CI runs on, because its machines have it. Past its end of life (April
 * 2026) and below the claude CLI's minimum, so `npm ci` warns there; everything works, and CI keeps it so.
 */
export const CI_NODE_LINE = { line: 20, from: '20.19.0' } as const;

/** What package.json's `engines.node` must be. */
export const ENGINES_NODE = SUPPORTED_NODE.map((s) => `^${s.from}`).join(' || ');

export interface NodeVerdict {
  /** ok: a supported line; warn: runs, but not supported; fail: too old to run. */
  level: 'ok' | 'warn' | 'fail';
  message: string;
}

const LINES = `${SUPPORTED_NODE.map((s) => s.line).join(', ')}`;

export function judgeNode(version: string = process.versions.node): NodeVerdict {
  const supported = SUPPORTED_NODE.find((s) => major(s.from) === major(version));
  if (supported && atLeast(version, supported.from)) return { level: 'ok', message: `${version} (supported lines: ${LINES}; the Docker image runs ${DOCKER_NODE_LINE})` };
  const upgrade = `install Node ${DOCKER_NODE_LINE} (LTS), or any of ${LINES}`;
  if (major(version) === CI_NODE_LINE.line && atLeast(version, CI_NODE_LINE.from)) {
    return { level: 'warn', message: `${version}: Node ${CI_NODE_LINE.line} is past its end of life and below the claude CLI's minimum (22). cligate still works on it (its own CI runs Node ${CI_NODE_LINE.line}), but ${upgrade}.` };
  }
  if (!atLeast(version, CI_NODE_LINE.from)) return { level: 'fail', message: `${version} is too old for cligate: ${upgrade}.` };
  return { level: 'warn', message: `${version} is not a supported line (${SUPPORTED_NODE.map((s) => `${s.line} from ${s.from}`).join(', ')}): ${upgrade}.` };
}

function parts(version: string): number[] {
  return version.replace(/^v/, '').split('.').map((n) => Number.parseInt(n, 10) || 0);
}

function major(version: string): number {
  return parts(version)[0]!;
}

function atLeast(version: string, floor: string): boolean {
  const [a, b] = [parts(version), parts(floor)];
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}
