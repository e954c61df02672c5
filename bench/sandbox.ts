/**
 * What containment costs per CLI start and per live follow-up, measured here rather than guessed.
 * Per start: the same command started as the gateway starts it with sandbox.mode "none" (a CLI home
 * of its own, a clean environment) and "bwrap"; once with `true` (the sandbox's own cost: home,
 * namespaces, mounts) and once with the real `claude -p` against the stand-in. Per follow-up: a
 * message to a long-lived claude inside bubblewrap and outside it (the sandbox is only paid at start;
 * a follow-up is a line on stdin). Run alone with `node dist/bench/sandbox.js`, or as part of `npm run bench`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledBinary } from '../src/paths.js';
import { cleanEnv } from '../src/sandbox/env.js';
import { Sandbox, type Command } from '../src/sandbox/index.js';
import { AnthropicFake } from '../test/support/anthropic-fake.js';
import { cliEnv, tmpDir } from '../test/support/harness.js';

export interface SandboxCost {
  /** Median ms from spawn to exit, per mode. */
  trueStart: Record<'none' | 'bwrap', number>;
  claudeStart: Record<'none' | 'bwrap', number>;
  /** Median ms from a message on stdin to its result line, in a live process. */
  followUp: Record<'none' | 'bwrap', number>;
}

export async function sandboxCost(env: NodeJS.ProcessEnv, dir: string, runs: number): Promise<SandboxCost | undefined> {
  const paths = { dataDir: path.join(dir, 'sandbox-data'), workspaceRoot: path.join(dir, 'sandbox-data', 'workspaces'), database: path.join(dir, 'sandbox-data', 'cligate.db'), configFile: '' };
  let bwrap: Sandbox;
  try {
    bwrap = new Sandbox('bwrap', paths);
  } catch {
    return undefined; // no bubblewrap here: nothing to measure
  }
  const modes = { none: new Sandbox('none', paths), bwrap };
  const claudeEnv = cleanEnv('claude', env);
  const result: SandboxCost = { trueStart: { none: 0, bwrap: 0 }, claudeStart: { none: 0, bwrap: 0 }, followUp: { none: 0, bwrap: 0 } };
  for (const mode of ['none', 'bwrap'] as const) {
    const cwd = path.join(paths.workspaceRoot, mode);
    fs.mkdirSync(cwd, { recursive: true });
    const start = (bin: string, args: string[]) => modes[mode].command({ engine: 'claude', conversationId: `bench-${mode}`, cwd, bin, args, env: claudeEnv });
    result.trueStart[mode] = median(await repeat(runs, async () => timed(() => start('/bin/true', []), cwd)));
    const claude = bundledBinary('claude');
    result.claudeStart[mode] = median(await repeat(runs, async () => timed(() => start(claude, ['-p', '--output-format', 'json', '--', 'bench: hi']), cwd)));
    result.followUp[mode] = median(await liveFollowUps(start(claude, ['-p', '--input-format', 'stream-json', '--output-format', 'stream-json', '--verbose']), cwd, runs));
  }
  return result;
}

async function repeat(runs: number, sample: () => Promise<number>): Promise<number[]> {
  await sample(); // warms the disk cache and makes the CLI home
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await sample());
  return out;
}

/** ms from the command line being built (the CLI home prepared) to the process's exit. */
function timed(build: () => Command, cwd: string): Promise<number> {
  const started = performance.now();
  const command = build();
  return new Promise((resolve, reject) => {
    const child = spawn(command.bin, command.args, { cwd, env: command.env, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('close', () => resolve(performance.now() - started));
  });
}

async function liveFollowUps(command: Command, cwd: string, runs: number): Promise<number[]> {
  const child = spawn(command.bin, command.args, { cwd, env: command.env, stdio: ['pipe', 'pipe', 'ignore'] });
  child.stdout.setEncoding('utf8');
  let pending = '';
  let onResult = () => {};
  child.stdout.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    if (lines.some((l) => l.includes('"type":"result"'))) onResult();
  });
  const turn = () => new Promise<number>((resolve) => {
    const started = performance.now();
    onResult = () => resolve(performance.now() - started);
    child.stdin.write(JSON.stringify({ type: 'user', message: { role: 'user', content: 'bench: hi' } }) + '\n');
  });
  await turn(); // the first message pays the start
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) samples.push(await turn());
  child.stdin.end();
  await new Promise((r) => child.once('close', r));
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.floor(sorted.length / 2)]! * 10) / 10;
}

export function sandboxReport(cost: SandboxCost | undefined): string {
  if (!cost) return 'sandbox: bubblewrap cannot run here; nothing to compare';
  const row = (what: string, v: Record<'none' | 'bwrap', number>) => `${what.padEnd(34)} ${String(v.none).padStart(8)} ${String(v.bwrap).padStart(8)} ${String(Math.round((v.bwrap - v.none) * 10) / 10).padStart(8)}`;
  return [
    `${'sandbox cost (median ms)'.padEnd(34)} ${'none'.padStart(8)} ${'bwrap'.padStart(8)} ${'added'.padStart(8)}`,
    row('start of `true` (home + sandbox)', cost.trueStart),
    row('start to exit of `claude -p`', cost.claudeStart),
    row('live follow-up', cost.followUp),
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const fake = new AnthropicFake();
  fake.respond = () => ({ text: 'ok' });
  await fake.start();
  const dir = tmpDir('cligate-bench-sandbox-');
  const runs = Number(process.env.BENCH_RUNS ?? 10);
  console.log(sandboxReport(await sandboxCost(cliEnv(fake, dir), dir, runs)));
  await fake.stop();
}
