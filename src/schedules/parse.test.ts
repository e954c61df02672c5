import { describe, expect, it } from 'vitest';
import { latestOccurrence, nextOccurrence, parseDelay, parseOnce, parseRecurring, shortestGapMs } from './parse.js';

// Tuesday 1 December 2026, 10:00 UTC (11:00 in Berlin).
const NOW = Date.UTC(2026, 11, 1, 10, 0, 0);

describe('parsing <when>', () => {
  it('reads a cron expression and leaves the rest as the prompt', () => {
    expect(parseRecurring('0 9 * * 1-5 summarise what changed', 'UTC', NOW)).toEqual({ ok: true, when: { kind: 'cron', pattern: '0 9 * * 1-5' }, prompt: 'summarise what changed' });
    expect(parseRecurring('*/2 * * * * * ping', 'UTC', NOW)).toEqual({ ok: true, when: { kind: 'cron', pattern: '*/2 * * * * *' }, prompt: 'ping' });
  });

  it('reads recurring English as a cron pattern or an interval', () => {
    expect(parseRecurring('weekdays at 9:00 summarise', 'UTC', NOW)).toMatchObject({ ok: true, when: { kind: 'cron', pattern: '0 9 * * 1-5' }, prompt: 'summarise' });
    expect(parseRecurring('every monday at 8am plan the week', 'UTC', NOW)).toMatchObject({ when: { pattern: '0 8 * * 1' }, prompt: 'plan the week' });
    expect(parseRecurring('every day at 6:30 pm digest', 'UTC', NOW)).toMatchObject({ when: { pattern: '30 18 * * *' }, prompt: 'digest' });
    expect(parseRecurring('every 30 minutes check the build', 'UTC', NOW)).toMatchObject({ when: { kind: 'interval', everyMs: 30 * 60_000 }, prompt: 'check the build' });
    expect(parseRecurring('every 2h ping', 'UTC', NOW)).toMatchObject({ when: { kind: 'interval', everyMs: 2 * 3600_000 }, prompt: 'ping' });
    expect(parseRecurring('every hour ping', 'UTC', NOW)).toMatchObject({ when: { kind: 'interval', everyMs: 3600_000 }, prompt: 'ping' });
    expect(parseRecurring('hourly ping', 'UTC', NOW)).toMatchObject({ when: { kind: 'cron', pattern: '0 * * * *' } });
    expect(parseRecurring('mondays at 8am plan', 'UTC', NOW)).toMatchObject({ when: { pattern: '0 8 * * 1' }, prompt: 'plan' });
    expect(parseRecurring('weekends at noon lunch', 'UTC', NOW)).toMatchObject({ when: { pattern: '0 12 * * 0,6' }, prompt: 'lunch' });
    expect(parseRecurring('0 9 * * MON-FRI standup', 'UTC', NOW)).toMatchObject({ when: { kind: 'cron', pattern: '0 9 * * MON-FRI' }, prompt: 'standup' });
  });

  it('reads one time in plain English, in the person\'s time zone', () => {
    const berlin = parseOnce('tomorrow at 8am remind me', 'Europe/Berlin', NOW);
    expect(berlin).toEqual({ ok: true, when: { kind: 'once', at: Date.UTC(2026, 11, 2, 7, 0) }, prompt: 'remind me' });
    expect(parseOnce('2026-12-24 18:00 greetings', 'UTC', NOW)).toMatchObject({ when: { at: Date.UTC(2026, 11, 24, 18, 0) }, prompt: 'greetings' });
  });

  it('reads a duration', () => {
    expect(parseDelay('30 minutes look again', NOW)).toEqual({ ok: true, when: { kind: 'once', at: NOW + 30 * 60_000 }, prompt: 'look again' });
    expect(parseDelay('2 hours ping', NOW)).toMatchObject({ when: { at: NOW + 2 * 3600_000 }, prompt: 'ping' });
    expect(parseDelay('1h30m ping', NOW)).toMatchObject({ when: { at: NOW + 90 * 60_000 }, prompt: 'ping' });
    expect(parseDelay('30m ping', NOW)).toMatchObject({ when: { at: NOW + 30 * 60_000 }, prompt: 'ping' });
  });

  it('answers bad input with examples of what works', () => {
    for (const bad of [parseRecurring('sometimes maybe do it', 'UTC', NOW), parseOnce('whenever do it', 'UTC', NOW), parseDelay('a while do it', NOW)]) {
      expect(bad.ok).toBe(false);
      expect(!bad.ok && bad.error).toMatch(/\/every weekdays at 9:00.*\n.*\/in 2 hours/s);
    }
    expect(parseRecurring('every 5 minutes', 'UTC', NOW)).toMatchObject({ ok: false, error: expect.stringMatching(/what should I do/) });
    expect(parseRecurring('weekdays at banana do it', 'UTC', NOW)).toMatchObject({ ok: false, error: expect.stringMatching(/time after "at"/) });
    expect(parseOnce('yesterday at 8am do it', 'UTC', NOW)).toMatchObject({ ok: false });
  });
});

describe('occurrences', () => {
  const cron = { kind: 'cron' as const, spec: '0 9 * * 1-5', timezone: 'Europe/Berlin', anchor_at: NOW };
  const interval = { kind: 'interval' as const, spec: '60000', timezone: 'UTC', anchor_at: NOW };

  it('finds the next one strictly after a time, in the schedule\'s zone', () => {
    expect(nextOccurrence(cron, NOW)).toBe(Date.UTC(2026, 11, 2, 8, 0));
    expect(nextOccurrence(interval, NOW)).toBe(NOW + 60_000);
    expect(nextOccurrence(interval, NOW + 60_000)).toBe(NOW + 120_000);
    expect(nextOccurrence({ kind: 'once', spec: String(NOW), timezone: 'UTC', anchor_at: NOW }, NOW)).toBeNull();
  });

  it('finds the latest missed one, for a single catch-up', () => {
    expect(latestOccurrence(interval, NOW + 60_000, NOW + 5.5 * 60_000)).toBe(NOW + 5 * 60_000);
    expect(latestOccurrence(cron, Date.UTC(2026, 11, 2, 8, 0), Date.UTC(2026, 11, 4, 12, 0))).toBe(Date.UTC(2026, 11, 4, 8, 0));
  });

  it('measures the shortest gap (for schedule.min_interval_s)', () => {
    expect(shortestGapMs({ kind: 'cron', pattern: '* * * * *' }, 'UTC', NOW)).toBe(60_000);
    expect(shortestGapMs({ kind: 'interval', everyMs: 2000 }, 'UTC', NOW)).toBe(2000);
  });
});
