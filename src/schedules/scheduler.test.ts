/**
 * Firing schedules without a CLI: two gateways on one database fire each occurrence once, missed
 * occurrences are caught up once or skipped, failing schedules pause, and the chat commands.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Intake } from '../accept.js';
import { LocalBus } from '../bus.js';
import { configSchema } from '../config/schema.js';
import { silentLogger } from '../log.js';
import type { JobQueue } from '../queue/types.js';
import { Store } from '../store/index.js';
import { tmpDir } from '../../test/support/harness.js';
import { Scheduler } from './scheduler.js';

const T = Date.UTC(2026, 11, 1, 10, 0, 0);

function gatewayOn(file: string, overrides: Record<string, unknown> = {}) {
  const store = Store.open(file);
  const bus = new LocalBus();
  const queue = { driver: 'sqlite', wake: async () => {} } as unknown as JobQueue;
  const config = configSchema.parse({ telegram: { allowed_users: ['42'] }, limits: { messages_per_minute: 0 }, ...overrides });
  const intake = new Intake({ store, queue, bus, config, log: silentLogger, enabledEngines: ['claude'] });
  const scheduler = new Scheduler({ store, bus, intake, config, log: silentLogger });
  return { store, bus, intake, scheduler, config };
}

function everySecond(store: Store, nextRunAt = T) {
  store.conversations.ensure({ platform: 'telegram', chatId: '42' }, '42');
  return store.schedules.add({
    conversation_id: 'telegram:42', name: 'ping', prompt: 'ping', kind: 'interval', spec: '1000', timezone: 'UTC',
    user_id: '42', user_key: 'telegram:42', next_run_at: nextRunAt, anchor_at: nextRunAt - 1000,
  });
}

const fired = (store: Store) => store.db.raw.prepare("select platform_message_id id, user_id, schedule_id from messages where platform = 'schedule' order by id").all() as { id: string; user_id: string; schedule_id: number }[];

describe('once per occurrence', () => {
  it('two gateways ticking together on one database fire each occurrence once, as its maker', () => {
    const file = path.join(tmpDir(), 'db.sqlite');
    const a = gatewayOn(file);
    const b = gatewayOn(file);
    const s = everySecond(a.store);
    for (const at of [T + 5, T + 1005, T + 2010]) {
      a.scheduler.tick(at);
      b.scheduler.tick(at);
      b.scheduler.tick(at);
    }
    expect(fired(a.store)).toEqual([0, 1000, 2000].map((d) => ({ id: `${s.id}@${T + d}`, user_id: '42', schedule_id: s.id })));
    expect(a.store.schedules.get(s.id)!.next_run_at).toBe(T + 3000);
    a.store.close();
    b.store.close();
  });

  it('a process that stalled past several occurrences fires once', () => {
    const g = gatewayOn(':memory:');
    everySecond(g.store);
    g.scheduler.tick(T + 1500);
    expect(fired(g.store)).toHaveLength(1);
  });
});

describe('catch-up at start', () => {
  it('"one" fires the latest missed occurrence once; "none" runs nothing, tells the chat and moves on', () => {
    const one = gatewayOn(':memory:', { schedule: { catch_up: 'one' } });
    const s1 = everySecond(one.store);
    one.scheduler.start(T + 10_000);
    one.scheduler.stop();
    expect(fired(one.store).map((m) => m.id)).toEqual([`${s1.id}@${T + 10_000}`]);
    expect(one.store.schedules.get(s1.id)!.next_run_at).toBe(T + 11_000);

    const none = gatewayOn(':memory:', { schedule: { catch_up: 'none' } });
    const s2 = everySecond(none.store);
    none.scheduler.start(T + 10_000);
    none.scheduler.stop();
    // One message for the skipped runs, never queued: it only carries what the chat is told.
    const skipped = none.store.db.raw.prepare("select id, status from messages where platform = 'schedule'").all() as { id: number; status: string }[];
    expect(skipped).toEqual([{ id: expect.any(Number), status: 'cancelled' }]);
    expect(none.store.messages.counts().queued).toBe(0);
    const told = none.store.db.raw.prepare('select text from outbox where message_id = ?').get(skipped[0]!.id) as { text: string };
    expect(told.text).toMatch(/^⏰ \*\*#1 .+\*\*\n⏭️ Its runs due from .+ to .+ came while cligate was not running, so it did not run \(schedule\.catch_up = "none"\)\. Next run .+\.$/);
    expect(none.store.schedules.get(s2.id)!.next_run_at).toBe(T + 11_000);
  });
});

describe('failures', () => {
  it('pauses after schedule.pause_after_failures failed runs in a row, and tells the chat once', () => {
    const g = gatewayOn(':memory:');
    const s = everySecond(g.store, Date.now() + 3_600_000);
    g.scheduler.start();
    for (let k = 0; k < 3; k++) {
      g.store.db.raw.prepare('update schedules set next_run_at = ? where id = ?').run(T + k * 1000, s.id);
      g.scheduler.tick(T + k * 1000);
      const id = g.store.schedules.runs(s.id, 1)[0]!.id;
      g.store.messages.finish(id, 'failed', { errorCode: 'api_error' });
      for (let twice = 0; twice < 2; twice++) g.bus.publish({ type: 'finished', conversationId: 'telegram:42', messageId: id, status: 'failed', text: '', costUsd: 0, durationMs: 0 });
      expect(g.store.schedules.get(s.id)!.status).toBe(k < 2 ? 'active' : 'paused');
    }
    g.scheduler.stop();
    const notes = g.store.db.raw.prepare("select text from outbox where text like '%paused%'").all() as { text: string }[];
    expect(notes).toHaveLength(1);
    expect(notes[0]!.text).toMatch(/^⏰ \*\*#1 ping\*\*\n⏸️ Its last 3 runs failed.*`\/jobs resume 1`/s);
  });
});

describe('limits', () => {
  it("counts a run toward its maker's budget: over it, the run is refused in the chat under the schedule's heading", () => {
    const g = gatewayOn(':memory:', { limits: { messages_per_minute: 0, budget_usd_per_day: 1 } });
    const s = everySecond(g.store, Date.now() - 10);
    const spent = g.store.messages.insert({
      conversation_id: 'telegram:42', kind: 'prompt', platform: 'telegram', platform_message_id: 'p1', request_sha256: null, user_id: '42',
      user_key: 'telegram:42', text: 'earlier', attachments: null, reply_context: null, status: 'done', received_at: Date.now(),
    }) as number;
    g.store.messages.finish(spent, 'done', { costUsd: 1.5 });
    g.scheduler.tick();
    const [run] = g.store.schedules.runs(s.id, 1);
    expect(run).toMatchObject({ status: 'failed', error_code: 'over_budget' });
    const note = g.store.db.raw.prepare('select text from outbox where message_id = ?').get(run!.id) as { text: string };
    expect(note.text).toMatch(/^⏰ \*\*#1 ping\*\*\nYour answers cost \$1\.50 in the last 24 hours, reaching the daily budget of \$1\.00 \(limits\.budget_usd_per_day\)/);
  });

  it('pauses, without running, a schedule whose maker is no longer on the allow-list', () => {
    const g = gatewayOn(':memory:', { telegram: { allowed_users: ['7'] } });
    const s = everySecond(g.store, Date.now() - 10);
    g.scheduler.tick();
    expect(g.store.schedules.get(s.id)!.status).toBe('paused');
    expect(g.store.schedules.runs(s.id, 5)).toEqual([]);
  });
});

describe('commands', () => {
  const reply = (g: ReturnType<typeof gatewayOn>) => (g.store.db.raw.prepare('select text from outbox order by id desc limit 1').get() as { text: string }).text;
  let n = 0;
  const say = async (g: ReturnType<typeof gatewayOn>, text: string) => {
    await g.intake.receive({ address: { platform: 'telegram', chatId: '42' }, userId: '42', text, messageId: `c${++n}` });
    return reply(g);
  };

  it('/every, /at, /in, /jobs and its subcommands, /tz, with the limits named', async () => {
    const g = gatewayOn(':memory:', { schedule: { max_per_person: 2, min_interval_s: 60 } });
    expect(await say(g, '/every 10 seconds ping')).toMatch(/at most every 60 s here \(schedule\.min_interval_s\)/);
    expect(await say(g, '/every sometimes ping')).toMatch(/What works:\n.*\/every weekdays at 9:00/);
    expect(await say(g, '/tz Mars/Olympus')).toMatch(/not a time zone/);
    expect(await say(g, '/tz Europe/Berlin')).toMatch(/now Europe\/Berlin/);
    expect(await say(g, '/every weekdays at 9:00 summarise the repo')).toMatch(/^Scheduled #1 \(cron `0 9 \* \* 1-5` \(Europe\/Berlin\)\): next run /);
    expect(await say(g, '/in 2 hours look again')).toMatch(/^Scheduled #2 \(once at /);
    expect(await say(g, '/at tomorrow at 8am one more')).toMatch(/2 schedules, the most allowed \(schedule\.max_per_person\)/);
    expect(await say(g, '/jobs')).toMatch(/#1 \*\*summarise the repo\*\*: cron .*; next .*; not run yet.*\n• #2 \*\*look again\*\*/);
    expect(await say(g, '/jobs pause 1')).toMatch(/^Paused #1/);
    expect(await say(g, '/jobs')).toMatch(/#1 .*; paused;/);
    expect(await say(g, '/jobs resume 1')).toMatch(/^Resumed #1 summarise the repo: next run/);
    expect(await say(g, '/jobs cancel 2')).toBe('Cancelled #2 look again.');
    expect(await say(g, '/jobs cancel 2')).toMatch(/no schedule 2 in this conversation/);
    expect(await say(g, '/status')).toMatch(/Schedules here: 1 active/);
  });
});
