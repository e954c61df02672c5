/**
 * /every, /at, /in, /jobs and /tz: schedules are made and managed from the chat. A schedule belongs
 * to its conversation and runs as the person who made it.
 */
import type { CommandContext, CommandHandler, CommandResult } from '../commands.js';
import type { Schedule } from '../store/db.js';
import { describeWhen, formatTime, nextOccurrence, parseDelay, parseOnce, parseRecurring, shortestGapMs, toStored, type Parsed } from './parse.js';
import { isTimezone } from './time.js';

export function scheduleCommands(): Map<string, CommandHandler> {
  return new Map<string, CommandHandler>([
    ['every', (args, ctx) => create(ctx, parseRecurring(args, timezoneOf(ctx), Date.now()))],
    ['at', (args, ctx) => create(ctx, parseOnce(args, timezoneOf(ctx), Date.now()))],
    ['in', (args, ctx) => create(ctx, parseDelay(args, Date.now()))],
    ['jobs', jobs],
    ['tz', tz],
  ]);
}

function timezoneOf(ctx: CommandContext): string {
  return ctx.store.schedules.timezoneOf(ctx.userKey) ?? ctx.config.gateway.timezone;
}

function create(ctx: CommandContext, parsed: Parsed): CommandResult {
  if (!parsed.ok) return { text: parsed.error };
  const { store, config, conversation, userKey } = ctx;
  const now = Date.now();
  const timezone = timezoneOf(ctx);
  const gap = shortestGapMs(parsed.when, timezone, now);
  if (gap < config.schedule.min_interval_s * 1000) {
    return { text: `That would run every ${Math.round(gap / 1000)} s; schedules may run at most every ${config.schedule.min_interval_s} s here (schedule.min_interval_s).` };
  }
  const max = config.schedule.max_per_person;
  if (store.schedules.countByPerson(userKey) >= max) {
    return { text: `You have ${max} schedules, the most allowed (schedule.max_per_person). \`/jobs cancel <id>\` one first.` };
  }
  const stored = toStored(parsed.when);
  const probe = { ...stored, timezone, anchor_at: now };
  const next = nextOccurrence(probe, now);
  if (next === null) return { text: 'That time never comes.' };
  const userId = store.messages.get(ctx.messageId)?.user_id ?? conversation.user_id;
  const s = store.schedules.add({
    conversation_id: conversation.id, name: nameOf(parsed.prompt), prompt: parsed.prompt, ...stored, timezone,
    user_id: userId, user_key: userKey, next_run_at: next, anchor_at: now,
  }, now);
  return { text: `Scheduled #${s.id} (${describeWhen(s)}): next run ${formatTime(next, timezone)}. \`/jobs\` lists this conversation's schedules.` };
}

function nameOf(prompt: string): string {
  const line = prompt.split('\n')[0]!.trim();
  return line.length > 40 ? `${line.slice(0, 39).trimEnd()}…` : line;
}

function jobs(args: string, ctx: CommandContext): CommandResult {
  const { store, conversation } = ctx;
  const [sub, idText] = args.trim().split(/\s+/);
  if (!sub) return { text: list(ctx) };
  if (!['cancel', 'pause', 'resume'].includes(sub)) return { text: 'Use `/jobs`, `/jobs cancel <id>`, `/jobs pause <id>` or `/jobs resume <id>`.' };
  const s = store.schedules.get(Number((idText ?? '').replace(/^#/, '')));
  if (!s || s.conversation_id !== conversation.id || s.status === 'cancelled' || s.status === 'done') {
    return { text: `There is no schedule ${idText ?? ''} in this conversation. \`/jobs\` lists them.`.replace('  ', ' ') };
  }
  if (sub === 'cancel') {
    store.db.tx(() => {
      store.schedules.setStatus(s.id, ['active', 'paused'], 'cancelled', { next_run_at: null });
      store.schedules.dropQueued(s.id);
    });
    return { text: `Cancelled #${s.id} ${s.name}.` };
  }
  if (sub === 'pause') {
    const paused = store.db.tx(() => store.schedules.setStatus(s.id, ['active'], 'paused') && (store.schedules.dropQueued(s.id), true));
    return { text: paused ? `Paused #${s.id} ${s.name}. \`/jobs resume ${s.id}\` starts it again.` : `#${s.id} is already paused.` };
  }
  const now = Date.now();
  const next = nextOccurrence(s, now);
  if (next === null) {
    store.schedules.setStatus(s.id, ['paused'], 'done', { next_run_at: null });
    return { text: `#${s.id} was due once, at ${formatTime(Number(s.spec), s.timezone)}, which has passed: it is done.` };
  }
  // Failures in a row are counted afresh from here.
  if (!store.schedules.setStatus(s.id, ['paused'], 'active', { next_run_at: next, streak_from: store.schedules.lastMessageId() })) return { text: `#${s.id} is not paused.` };
  return { text: `Resumed #${s.id} ${s.name}: next run ${formatTime(next, s.timezone)}.` };
}

function list(ctx: CommandContext): string {
  const { store, conversation } = ctx;
  const all = store.schedules.ofConversation(conversation.id);
  if (!all.length) return 'No schedules here. Make one with `/every <when> <prompt>`, `/at <when> <prompt>` or `/in <duration> <prompt>`.';
  return ['Schedules here:', ...all.map((s) => describe(ctx, s)), '', '`/jobs cancel|pause|resume <id>`'].join('\n');
}

function describe(ctx: CommandContext, s: Schedule): string {
  const [last] = ctx.store.schedules.runs(s.id, 1, { finished: true });
  const next = s.status === 'paused' ? 'paused' : s.next_run_at ? `next ${formatTime(s.next_run_at, s.timezone)}` : 'no next run';
  const outcome = last ? `last run: ${last.status}${last.error_code && last.status === 'failed' ? ` (${last.error_code})` : ''}` : 'not run yet';
  return `• #${s.id} **${s.name}**: ${describeWhen(s)}; ${next}; ${outcome}; by ${s.user_key}`;
}

function tz(args: string, ctx: CommandContext): CommandResult {
  const wanted = args.trim();
  if (!wanted) return { text: `Your time zone: ${timezoneOf(ctx)}. Change it with \`/tz Europe/Berlin\`.` };
  if (!isTimezone(wanted)) return { text: `"${wanted}" is not a time zone I know. Use a name such as \`Europe/Berlin\`, \`America/New_York\` or \`UTC\`.` };
  const canonical = new Intl.DateTimeFormat('en', { timeZone: wanted }).resolvedOptions().timeZone;
  ctx.store.schedules.setTimezone(ctx.userKey, canonical);
  return { text: `Your time zone is now ${canonical}: new schedules read times in it.` };
}
