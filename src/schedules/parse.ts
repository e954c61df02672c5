/**
 * Reading `<when>` from `/every`, `/at` and `/in`: a cron expression (croner), plain English dates
 * and durations (chrono-node), and a few recurring phrases ("weekdays at 9:00", "every 30 minutes")
 * turned into a cron pattern or an interval. The rest of the text is the prompt. Also the next
 * occurrence of a stored schedule, and examples for a person whose `<when>` could not be read.
 */
import * as chrono from 'chrono-node';
import { Cron } from 'croner';
import type { ScheduleKind } from '../store/db.js';
import { offsetMinutes } from './time.js';

export type When =
  | { kind: 'cron'; pattern: string }
  | { kind: 'interval'; everyMs: number }
  | { kind: 'once'; at: number };

export type Parsed = { ok: true; when: When; prompt: string } | { ok: false; error: string };

export const EXAMPLES = [
  '`/every weekdays at 9:00 summarise what changed in this repo`',
  '`/every 0 9 * * 1-5 summarise what changed` (cron: minute hour day month weekday)',
  '`/every 30 minutes check the build`',
  '`/every monday at 8am plan the week`',
  '`/at tomorrow at 8am remind me of the release`',
  '`/at 2026-12-24 18:00 send the greetings`',
  '`/in 2 hours look at the logs again`',
].join('\n');

const UNITS: Record<string, number> = {
  s: 1000, sec: 1000, secs: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, mins: 60_000, minute: 60_000, minutes: 60_000,
  h: 3600_000, hr: 3600_000, hrs: 3600_000, hour: 3600_000, hours: 3600_000,
  d: 86_400_000, day: 86_400_000, days: 86_400_000,
  week: 7 * 86_400_000, weeks: 7 * 86_400_000,
};

const WEEKDAYS: Record<string, string> = {
  sunday: '0', monday: '1', tuesday: '2', wednesday: '3', thursday: '4', friday: '5', saturday: '6',
  weekday: '1-5', weekdays: '1-5', weekend: '0,6', weekends: '0,6', day: '*', daily: '*',
};

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

function weekdayOf(word: string): string | undefined {
  const w = word.toLowerCase().replace(/,$/, '');
  if (w in WEEKDAYS) return WEEKDAYS[w];
  // "mondays", "mon", "tues"
  const stem = w.replace(/s$/, '');
  const full = DAY_NAMES.find((d) => stem.length >= 3 && d.startsWith(stem));
  return full ? WEEKDAYS[full] : undefined;
}

/** `/every <when> <prompt>`. */
export function parseRecurring(args: string, timezone: string, now = Date.now()): Parsed {
  const words = args.trim().split(/\s+/).filter(Boolean);
  if (!words.length) return { ok: false, error: `When, and what? For example:\n${EXAMPLES}` };
  const rest = (n: number) => words.slice(n).join(' ');

  // A cron expression: six fields (with seconds) or five.
  for (const n of [6, 5]) {
    if (words.length < n || !/[\d*]/.test(words[0]!) || !words.slice(0, n).every((w) => /^[\d*/,\-?LW#A-Za-z]+$/.test(w))) continue;
    const pattern = words.slice(0, n).join(' ');
    if (validCron(pattern, timezone)) return withPrompt({ kind: 'cron', pattern }, rest(n));
  }

  let i = 0;
  const lower = words.map((w) => w.toLowerCase());
  if (lower[0] === 'every') i = 1;
  // "every 30 minutes", "every minute", "every 2h"
  const count = /^(\d+)([a-z]*)$/.exec(lower[i] ?? '');
  if (count && (count[2] ? UNITS[count[2]] : UNITS[lower[i + 1] ?? ''])) {
    const unit = count[2] ? UNITS[count[2]]! : UNITS[lower[i + 1]!]!;
    const used = count[2] ? i + 1 : i + 2;
    const everyMs = Number(count[1]) * unit;
    if (everyMs <= 0) return { ok: false, error: 'The interval must be more than zero.' };
    return withPrompt({ kind: 'interval', everyMs }, rest(used));
  }
  if (i === 1 && UNITS[lower[1] ?? ''] && lower[2] !== 'at') return withPrompt({ kind: 'interval', everyMs: UNITS[lower[1]!]! }, rest(2));
  if (lower[i] === 'hourly') return withPrompt({ kind: 'cron', pattern: '0 * * * *' }, rest(i + 1));

  // "weekdays at 9:00", "every monday at 8am", "daily at 18:30", "every day at noon"
  const day = weekdayOf(lower[i] ?? '');
  if (day !== undefined && lower[i + 1] === 'at') {
    const time = timeOfDay(words.slice(i + 2), now);
    if (!time) return { ok: false, error: `I could not read the time after "at". For example:\n${EXAMPLES}` };
    return withPrompt({ kind: 'cron', pattern: `${time.minute} ${time.hour} * * ${day}` }, rest(i + 2 + time.words));
  }
  return { ok: false, error: `I could not read when to run that. What works:\n${EXAMPLES}` };
}

/** `/at <when> <prompt>`: one time, in plain English or as a date. */
export function parseOnce(args: string, timezone: string, now = Date.now()): Parsed {
  const text = args.trim();
  const [result] = chrono.parse(text, { instant: new Date(now), timezone: offsetMinutes(timezone, now) }, { forwardDate: true });
  if (!result || text.slice(0, result.index).trim()) {
    return { ok: false, error: `I could not read a time at the start of that. What works:\n${EXAMPLES}` };
  }
  const at = result.start.date().getTime();
  if (at <= now) return { ok: false, error: `${result.text} is in the past. What works:\n${EXAMPLES}` };
  return withPrompt({ kind: 'once', at }, text.slice(result.index + result.text.length));
}

/** `/in <duration> <prompt>`. */
export function parseDelay(args: string, now = Date.now()): Parsed {
  const text = `in ${args.trim()}`;
  const [result] = chrono.parse(text, new Date(now), { forwardDate: true });
  if (!result || result.index !== 0 || result.text.length <= 3) {
    return { ok: false, error: `I could not read how long to wait. What works:\n${EXAMPLES}` };
  }
  const at = result.start.date().getTime();
  if (at <= now) return { ok: false, error: `That is not in the future. What works:\n${EXAMPLES}` };
  return withPrompt({ kind: 'once', at }, text.slice(result.text.length));
}

function withPrompt(when: When, prompt: string): Parsed {
  const text = prompt.trim();
  if (!text) return { ok: false, error: 'And what should I do then? Write the prompt after the time, for example:\n' + EXAMPLES };
  return { ok: true, when, prompt: text };
}

/** The hour and minute at the start of `words` ("9:00", "9am", "8 pm", "noon"), and how many words it took. */
function timeOfDay(words: string[], now: number): { hour: number; minute: number; words: number } | undefined {
  for (const n of [2, 1]) {
    if (words.length < n) continue;
    const candidate = words.slice(0, n).join(' ');
    const [result] = chrono.parse(`at ${candidate}`, new Date(now));
    const text = `at ${candidate}`;
    // The whole candidate is the time (chrono-node leaves "at" out of "at noon").
    const whole = result && ['', 'at'].includes(text.slice(0, result.index).trim()) && result.index + result.text.length === text.length;
    if (result && whole && result.start.isCertain('hour')) {
      return { hour: result.start.get('hour')!, minute: result.start.get('minute') ?? 0, words: n };
    }
  }
  return undefined;
}

function validCron(pattern: string, timezone: string): boolean {
  try {
    return new Cron(pattern, { timezone, paused: true }).nextRun() !== null;
  } catch {
    return false;
  }
}

/** How the stored form of a `When` reads back. */
export function toStored(when: When): { kind: ScheduleKind; spec: string } {
  if (when.kind === 'cron') return { kind: 'cron', spec: when.pattern };
  if (when.kind === 'interval') return { kind: 'interval', spec: String(when.everyMs) };
  return { kind: 'once', spec: String(when.at) };
}

/** The first occurrence strictly after `after`; null when there is none (a past one-off). */
export function nextOccurrence(s: { kind: ScheduleKind; spec: string; timezone: string; anchor_at: number }, after: number): number | null {
  if (s.kind === 'once') {
    const at = Number(s.spec);
    return at > after ? at : null;
  }
  if (s.kind === 'interval') {
    const every = Number(s.spec);
    const n = Math.floor((after - s.anchor_at) / every) + 1;
    return s.anchor_at + Math.max(1, n) * every;
  }
  const next = new Cron(s.spec, { timezone: s.timezone, paused: true }).nextRun(new Date(after));
  return next ? next.getTime() : null;
}

/** The latest occurrence at or before `at`, counting from `from` (for a catch-up of missed ones). */
export function latestOccurrence(s: { kind: ScheduleKind; spec: string; timezone: string; anchor_at: number }, from: number, at: number): number {
  if (s.kind === 'interval') {
    const every = Number(s.spec);
    return Math.max(from, s.anchor_at + Math.floor((at - s.anchor_at) / every) * every);
  }
  let latest = from;
  for (let t = nextOccurrence(s, from), k = 0; t !== null && t <= at && k < 10_000; t = nextOccurrence(s, t), k++) latest = t;
  return latest;
}

/** The shortest gap between occurrences, looking a few ahead. */
export function shortestGapMs(when: When, timezone: string, now = Date.now()): number {
  if (when.kind === 'once') return Infinity;
  if (when.kind === 'interval') return when.everyMs;
  const runs = new Cron(when.pattern, { timezone, paused: true }).nextRuns(6, new Date(now)).map((d) => d.getTime());
  let gap = Infinity;
  for (let k = 1; k < runs.length; k++) gap = Math.min(gap, runs[k]! - runs[k - 1]!);
  return gap;
}

/** How a schedule reads in /jobs: "every 30 min", "cron 0 9 * * 1-5 (Europe/Berlin)", "once at ...". */
export function describeWhen(s: { kind: ScheduleKind; spec: string; timezone: string }): string {
  if (s.kind === 'interval') return `every ${duration(Number(s.spec))}`;
  if (s.kind === 'cron') return `cron \`${s.spec}\` (${s.timezone})`;
  return `once at ${formatTime(Number(s.spec), s.timezone)}`;
}

export function formatTime(ms: number, timezone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone: timezone, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', second: '2-digit',
  }).format(new Date(ms));
}

export function duration(ms: number): string {
  for (const [unit, size] of [['day', 86_400_000], ['h', 3600_000], ['min', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return unit === 'day' ? `${ms / size} day${ms === size ? '' : 's'}` : `${ms / size} ${unit}`;
  }
  return `${ms / 1000} s`;
}
