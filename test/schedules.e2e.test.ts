/**
 * Schedules end to end, with the real `claude` CLI against the Anthropic stand-in and the sqlite
 * queue: a schedule fires once per occurrence (counted from the stand-in's log), pause, resume and
 * cancel stop and start it, a failing one pauses after three failures, a person's message and a
 * fired schedule keep their order, and a restart catches missed occurrences up once or not at all.
 * On the bullmq driver, two gateway processes and three worker processes run one message per occurrence.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { gatewayPerTest, startTestGateway, type TestGateway } from './support/gateway.js';
import { cliEnv, eventually, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';
import { RedisServer } from './support/redis.js';

const fake = new AnthropicFake();
const start = gatewayPerTest(fake);
const FAST = { schedule: { min_interval_s: 1 } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Requests the stand-in received with exactly this prompt. */
const count = (prompt: string) => fake.prompts().filter((p) => p === prompt).length;
/** Messages a schedule fired that ran (a pause drops those still queued), from the store. */
const ranOf = (t: TestGateway, scheduleId: number) => t.gateway.store.db.raw.prepare('select count(*) n from messages where schedule_id = ? and started_at is not null').get(scheduleId) as { n: number };

async function command(t: TestGateway, chat: string, text: string): Promise<string> {
  const before = t.adapter.finals(chat).length;
  await t.adapter.say(chat, text);
  await eventually(() => t.adapter.finals(chat).length > before, 20_000, `reply to ${text}`);
  return t.adapter.finals(chat).at(-1)!;
}

describe('schedules', () => {
  it('fires once per occurrence, headed by its id and name; pause, resume and cancel stop and start it', async () => {
    const t = await start({ config: FAST });
    expect(await command(t, 'S', '/every 2 seconds tick')).toMatch(/^Scheduled #1 \(every 2 s\): next run/);
    // Generous: each run is a real CLI, slow when other files load the machine (several-hosts' six processes).
    await eventually(() => count('tick') >= 2, 30_000, 'two runs');
    expect(await command(t, 'S', '/jobs pause 1')).toMatch(/^Paused #1 tick/);
    // A run already queued may still finish; after that, nothing more while paused.
    await eventually(() => !t.gateway.store.messages.counts('local:S').queued && !t.gateway.store.messages.counts('local:S').running, 15_000, 'idle');
    const paused = count('tick');
    await sleep(2200);
    expect(count('tick')).toBe(paused);
    expect(await command(t, 'S', '/jobs resume 1')).toMatch(/^Resumed #1 tick/);
    await eventually(() => count('tick') > paused, 30_000, 'a run after resume');
    expect(await command(t, 'S', '/jobs cancel 1')).toBe('Cancelled #1 tick.');
    await eventually(() => !t.gateway.store.messages.counts('local:S').queued && !t.gateway.store.messages.counts('local:S').running, 15_000, 'idle');
    const cancelled = count('tick');
    await sleep(2200);
    expect(count('tick')).toBe(cancelled);
    // Exactly one request per fired occurrence, each answered under the schedule's heading.
    expect(ranOf(t, 1).n).toBe(cancelled);
    const answers = t.adapter.finals('S').filter((f) => f.startsWith('⏰'));
    expect(answers.length).toBe(cancelled);
    expect(answers.every((a) => a === '⏰ **#1 tick**\n\necho: tick')).toBe(true);
    expect(await command(t, 'S', '/jobs')).toMatch(/^No schedules here/);
  });

  it('pauses a schedule whose runs fail three times in a row, and says so in the chat', async () => {
    const t = await start({ config: FAST });
    fake.respond = (req) => (req.prompt === 'doomed' ? { status: 400 } : undefined);
    await command(t, 'F', '/every 1 second doomed');
    await eventually(() => t.adapter.finals('F').some((f) => f.includes('paused it')), 30_000, 'pause notice');
    expect(t.gateway.store.schedules.get(1)!.status).toBe('paused');
    const notice = t.adapter.finals('F').find((f) => f.includes('paused it'))!;
    expect(notice).toMatch(/^⏰ \*\*#1 doomed\*\*\n⏸️ Its last 3 runs failed, so I paused it \(schedule\.pause_after_failures\)\. `\/jobs resume 1`/);
    await eventually(() => !t.gateway.store.messages.counts('local:F').queued && !t.gateway.store.messages.counts('local:F').running, 15_000, 'idle');
    const runs = count('doomed');
    await sleep(1500);
    expect(count('doomed')).toBe(runs);
    expect(await command(t, 'F', '/jobs')).toMatch(/#1 \*\*doomed\*\*: every 1 s; paused; last run: failed/);
  });

  it("keeps a person's message and a fired schedule in order", async () => {
    const t = await start({ config: FAST });
    fake.respond = (req) => (req.prompt === 'slow question' ? { text: 'slow answer '.repeat(20), chunkSize: 12, delayMs: 150 } : undefined);
    await command(t, 'O', '/in 2 seconds scheduled follow-up');
    await t.adapter.say('O', 'slow question');
    await eventually(() => count('scheduled follow-up') === 1 && t.adapter.finals('O').length === 3, 30_000, 'both answers');
    const person = fake.requests.find((r) => r.prompt === 'slow question')!;
    const scheduled = fake.requests.find((r) => r.prompt === 'scheduled follow-up')!;
    const fired = t.gateway.store.db.raw.prepare('select received_at from messages where schedule_id = 1').get() as { received_at: number };
    // The schedule came due while the person's turn ran, and waited for it.
    expect(fired.received_at).toBeLessThan(person.finishedAt!);
    expect(scheduled.at).toBeGreaterThanOrEqual(person.finishedAt!);
    expect(t.adapter.finals('O').slice(1)).toEqual(['slow answer '.repeat(20).trim(), '⏰ **#1 scheduled follow-up**\n\necho: scheduled follow-up']);
  });

  it('after a restart, catches a missed occurrence up once with catch_up = "one"; with "none" skips it and says so', async () => {
    const dirs = { one: tmpDir(), none: tmpDir() };
    const config = (catchUp: string) => ({ schedule: { min_interval_s: 1, catch_up: catchUp } });
    const first = await Promise.all((['one', 'none'] as const).map((k) => startTestGateway(fake, { dir: dirs[k], config: config(k) })));
    for (const [i, t] of first.entries()) await command(t, 'R', `/in 4 seconds missed-${i ? 'none' : 'one'}`);
    const due = Math.max(...first.map((t) => t.gateway.store.schedules.get(1)!.next_run_at!));
    await Promise.all(first.map((t) => t.stop()));
    expect(Date.now()).toBeLessThan(due);
    // Down past the occurrence, and long enough for it to count as missed rather than due.
    await sleep(due + 2500 - Date.now());
    const again = await Promise.all((['one', 'none'] as const).map((k) => startTestGateway(fake, { dir: dirs[k], config: config(k) })));
    try {
      await eventually(() => again[0]!.adapter.finals('R').length === 1, 20_000, 'the caught-up run');
      expect(again[0]!.adapter.finals('R')).toEqual(['⏰ **#1 missed-one**\n\necho: missed-one']);
      await sleep(1500);
      expect(count('missed-one')).toBe(1);
      expect(count('missed-none')).toBe(0);
      expect(again[1]!.gateway.store.schedules.get(1)!.status).toBe('done');
      // Skipped, not in silence: the chat is told the one-off did not run, and how to have it again.
      await eventually(() => again[1]!.adapter.finals('R').length === 1, 20_000, 'the skipped notice');
      expect(again[1]!.adapter.finals('R')[0]).toMatch(/^⏰ \*\*#1 missed-none\*\*\n⏭️ Its run due at .+ came while cligate was not running, so it did not run \(schedule\.catch_up = "none"\)\. Send it again, or schedule it anew with `\/in` or `\/at`\.$/);
    } finally {
      await Promise.all(again.map((t) => t.stop()));
    }
  });
});

describe('schedules on the bullmq driver', () => {
  it('two gateway processes and three worker processes run each occurrence once', async () => {
    const redis = await RedisServer.start();
    const dir = tmpDir();
    const dataDir = path.join(dir, 'data');
    const config = writeConfig(dir, testConfig(dataDir, {
      queue: { driver: 'bullmq', redis_url: redis.url, prefix: 'sched' }, schedule: { min_interval_s: 1 },
      // Six processes and their CLIs on two cores can stall one past a 3 s lease; then another worker
      // rightly takes the conversation over and runs the turn again. Crashes are not what this is about.
      worker: { lease_s: 15 },
    }));
    const env = cliEnv(fake, dir);
    const chat = spawnCligate(['chat', '--config', config, '--role', 'gateway'], env);
    const others = [
      spawnCligate(['start', '--config', config, '--role', 'gateway'], env),
      ...[1, 2, 3].map(() => spawnCligate(['start', '--config', config, '--role', 'worker'], env)),
    ];
    try {
      chat.write('/every 2 seconds tick-bullmq');
      await chat.waitForLine(/Scheduled #1 \(every 2 s\)/, 60_000);
      // A process that exits early (it should not) fails the test with what it said, not a timeout.
      for (const deadline = Date.now() + 60_000; count('tick-bullmq') < 3; await sleep(50)) {
        const gone = [chat, ...others].find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
        if (gone) throw new Error(`${gone.child.spawnargs.slice(2).join(' ')} exited early:\n${gone.stderr.join('\n').slice(-3000)}`);
        if (Date.now() > deadline) throw new Error(`timed out waiting for three runs; ${count('tick-bullmq')} so far`);
      }
      chat.write('/jobs cancel 1');
      await chat.waitForLine(/Cancelled #1 tick-bullmq/, 20_000);
      const db = new Database(path.join(dataDir, 'cligate.db'), { readonly: true });
      try {
        await eventually(() => (db.prepare("select count(*) n from messages where schedule_id = 1 and status in ('queued', 'running')").get() as { n: number }).n === 0, 30_000, 'runs finished');
        const runs = db.prepare('select platform_message_id id, started_at, attempts from messages where schedule_id = 1 order by id').all() as { id: string; started_at: number | null; attempts: number }[];
        const occurrences = runs.map((r) => Number(r.id.split('@')[1]));
        // One message per occurrence, occurrences 2 s apart with none skipped, and one request each.
        expect(new Set(occurrences).size).toBe(runs.length);
        for (let i = 1; i < occurrences.length; i++) expect(occurrences[i]! - occurrences[i - 1]!).toBe(2000);
        // On a failure: every request and message, and what the processes warned about.
        const warnings = [chat, ...others].flatMap((p) => p.stderr.filter((l) => /"level":[45]0/.test(l))).slice(-20);
        const requests = fake.requests.filter((r) => r.prompt === 'tick-bullmq').map((r) => ({ at: r.at, session: r.headers['x-claude-code-session-id'], messages: r.body.messages?.length }));
        const messages = db.prepare('select id, kind, status, text, schedule_id, platform_message_id, started_at, attempts, engine_process from messages order by id').all();
        const why = JSON.stringify({ requests, messages, warnings });
        // One schedule: the second gateway, starting as the chat's /every ran, did not run it again.
        expect(db.prepare('select count(*) n from schedules').get(), why).toEqual({ n: 1 });
        // (A run still queued when it was cancelled never started.)
        expect(count('tick-bullmq'), why).toBe(runs.filter((r) => r.started_at !== null).length);
        expect(runs.every((r) => r.attempts <= 1), why).toBe(true);
      } finally {
        db.close();
      }
    } finally {
      chat.child.stdin?.end();
      for (const p of others) p.kill('SIGTERM');
      await Promise.all([chat.exited, ...others.map((p) => p.exited)]);
      await redis.stop();
    }
    // Six processes and a Redis start on a machine other files load too: its waits add up past the default minute.
  }, 150_000);
});
