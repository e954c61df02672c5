/**
 * The doctor's proof of the sandbox: from inside a CLI's containment, exactly as a conversation's
 * CLI would be started, try to read the gateway's database. Under bubblewrap that must fail; with
 * no sandbox it succeeds, and the doctor says so.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv } from './env.js';
import { HOW_TO_ENABLE, type Sandbox } from './index.js';

export interface Proof {
  ok: boolean;
  /** Not a failure, but worth a look (no sandbox in force). */
  warn: boolean;
  message: string;
}

export function proveContainment(sandbox: Sandbox, database: string): Proof {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-doctor-'));
  try {
    const command = sandbox.command({ engine: 'claude', conversationId: 'doctor', cwd: workspace, bin: 'cat', args: [database], env: cleanEnv('claude', process.env) });
    const run = spawnSync(command.bin, command.args, {
      cwd: workspace, env: command.env, encoding: 'buffer', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000,
      ...(command.uid !== undefined ? { uid: command.uid, gid: command.gid } : {}),
    });
    const readIt = run.status === 0 && run.stdout.length > 0;
    const said = run.stderr.toString('utf8').trim().split('\n').at(-1) ?? '';
    const contained = sandbox.mode === 'bwrap' || !!sandbox.runAs;
    if (readIt && contained) {
      return { ok: false, warn: false, message: `${sandbox.describe()}, yet from inside a CLI read the database ${database}: is store.path outside gateway.data_dir, or readable by everyone?` };
    }
    if (readIt) {
      return { ok: true, warn: true, message: `${sandbox.describe()}. From inside, a CLI read the database ${database}.${sandbox.fallbackReason ? '' : ` ${HOW_TO_ENABLE}`}` };
    }
    return { ok: true, warn: !contained, message: `${sandbox.describe()}. Proof: from inside, \`cat ${database}\` failed (${said || `exit ${run.status}`}).` };
  } finally {
    fs.rmSync(workspace, { recursive: true, force: true });
  }
}
