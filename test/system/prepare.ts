/**
 * `npm test` runs this first: it finds the system tools the suite needs, installs the missing ones
 * with apt-get when it may (saying what it runs), or stops within a second with the line that
 * installs them, rather than letting three test files fail minutes later.
 */
import { spawnSync } from 'node:child_process';
import { hostProbe } from './host.js';
import { describeStep, planSetup, type Plan } from './plan.js';

const say = (line: string) => console.log(`test prerequisites: ${line}`);

function stop(plan: Extract<Plan, { kind: 'stop' }>): number {
  console.error(`test prerequisites: ${plan.reason}\n  ${plan.fix}`);
  return 1;
}

function main(): number {
  const plan = planSetup(hostProbe());
  if (plan.kind === 'stop') return stop(plan);
  if (plan.kind === 'install') {
    say(`installing ${plan.names.join(' and ')}, which the tests need:`);
    for (const step of plan.steps) {
      say(describeStep(step));
      const run = spawnSync(step.argv[0]!, step.argv.slice(1), { stdio: 'inherit', env: { ...process.env, ...step.env } });
      if (run.status !== 0) {
        console.error(`test prerequisites: \`${describeStep(step)}\` failed (${run.error?.message ?? `exit code ${run.status}`}).`);
        return 1;
      }
    }
  }
  // Checked again after an install: a package that put its program somewhere off PATH is no help.
  const after = planSetup(hostProbe());
  if (after.kind === 'stop') return stop(after);
  if (after.kind === 'install') {
    const packages = after.packages.join(' ');
    return stop({ kind: 'stop', reason: `apt-get installed ${packages}, but ${after.names.join(' and ')} still cannot be found on PATH.`, fix: `dpkg -L ${packages} | grep /bin/   # then add that folder to PATH` });
  }
  say(after.found.map((f) => `${f.name} ${f.path}`).join(', '));
  return 0;
}

process.exitCode = main();
