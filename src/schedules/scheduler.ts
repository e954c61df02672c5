/**
 * Fires schedules: every tick, each active schedule whose next occurrence has come becomes a message
 * of its conversation (Intake.submit), from the person who made it.
 *
 * Exactly one fire per occurrence, however many processes tick: in one transaction the schedule's
 * `next_run_at` is moved on only if it still holds the occurrence read (a conditional update: the
 * lease), and the message is inserted with the platform id `<schedule id>@<occurrence ms>`, unique in
 * the store. A process that loses the race changes nothing.
 *
 * Occurrences missed while no gateway ran are found at start: `schedule.catch_up = "one"` fires the
 * latest of them once, "none" skips them. A schedule whose runs fail `pause_after_failures` times in
 * a row is paused, and the chat is told.
 */
import type { Intake } from '../accept.js';
import type { Bus } from '../bus.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Schedule } from '../store/db.js';
import type { Store } from '../store/index.js';
import { NOTE_SEQ } from '../store/outbox.js';
import { occurrenceKey, SCHEDULE_PLATFORM } from '../store/schedules.js';
import { scheduleHeading } from './heading.js';
import { formatTime, latestOccurrence, nextOccurrence } from './parse.js';

export interface SchedulerDeps {
  store: Store;
  bus: Bus;
  intake: Intake;
  config: Config;
  log: Logger;
  tickMs?: number;
}

/** A due occurrence older than this at start was missed while down (not merely due this second). */
const MISSED_AFTER_MS = 2000;
/** The pause notice goes after the failed run's own reply (and its notes). */
const PAUSED_SEQ = NOTE_SEQ + 1;

export class Scheduler {
  private timer?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private stopped = false;

  constructor(private readonly deps: SchedulerDeps) {}

  start(now = Date.now()): void {
    this.catchUp(now);
    this.unsubscribe = this.deps.bus.subscribe((event) => {
      if (event.type === 'finished' && event.status === 'failed') this.checkFailures(event.messageId);
    });
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
  }

  /** Fires every occurrence that has come. */
  tick(now = Date.now()): void {
    for (const s of this.deps.store.schedules.due(now)) {
      // A process that stalled past several occurrences fires once, for the one it read.
      this.fire(s, s.next_run_at!, nextOccurrence(s, now));
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      try {
        this.tick();
      } catch (err) {
        this.deps.log.error({ err }, 'schedule tick failed');
      }
      this.schedule();
    }, this.deps.tickMs ?? 1000);
    this.timer.unref();
  }

  private catchUp(now: number): void {
    const { store, config, log } = this.deps;
    for (const s of store.schedules.due(now - MISSED_AFTER_MS)) {
      const from = s.next_run_at!;
      const next = nextOccurrence(s, now);
      const latest = latestOccurrence(s, from, now);
      if (config.schedule.catch_up === 'one') {
        this.fire(s, latest, next);
      } else {
        // Skipped, and the chat is told: a person waiting for a run must not wonder where it went.
        const told = this.fire(s, latest, next, missedText(s, from, latest, next));
        if (told) log.info({ scheduleId: s.id, missedSince: new Date(from).toISOString() }, 'skipped occurrences missed while down (schedule.catch_up = "none")');
      }
    }
  }

  /**
   * Fires one occurrence: a message that runs, or with `skipped`, one that only tells the chat why
   * not. False when another process fired it (or it was fired before).
   */
  private fire(s: Schedule, occurrence: number, next: number | null, skipped?: string): boolean {
    const { store, intake, log } = this.deps;
    const result = intake.submit({
      conversationId: s.conversation_id, userId: s.user_id, text: s.prompt, source: SCHEDULE_PLATFORM,
      sourceId: occurrenceKey(s.id, occurrence), scheduleId: s.id, heading: scheduleHeading(s),
      claim: () => store.schedules.advance(s.id, s.next_run_at!, next), skipped,
    });
    if (result.status === 'refused') {
      // Its maker is no longer allowed: it stays, paused, until someone allowed resumes it.
      store.schedules.setStatus(s.id, ['active'], 'paused');
      store.schedules.dropQueued(s.id);
      log.warn({ scheduleId: s.id, reason: result.text }, 'schedule paused: its maker is not allowed any more');
      return false;
    }
    if (result.status === 'taken' || result.status === 'duplicate') return false;
    if (skipped !== undefined) return true;
    log.debug({ scheduleId: s.id, occurrence: new Date(occurrence).toISOString(), messageId: 'messageId' in result ? result.messageId : undefined }, 'schedule fired');
    // Refused at intake (over budget...): a failed run like any other.
    if (result.status === 'handled' && result.messageId) this.checkFailures(result.messageId);
    return true;
  }

  /** Pauses the schedule of this failed message if its last runs all failed; the chat is told once. */
  private checkFailures(messageId: number): void {
    const { store, bus, config } = this.deps;
    const message = store.messages.get(messageId);
    if (!message?.schedule_id) return;
    const s = store.schedules.get(message.schedule_id);
    if (!s || s.status !== 'active') return;
    const limit = config.schedule.pause_after_failures;
    const runs = store.schedules.runs(s.id, limit, { afterMessageId: s.streak_from, finished: true });
    if (runs.length < limit || runs.some((r) => r.status !== 'failed')) return;
    const paused = store.db.tx(() => {
      if (!store.schedules.setStatus(s.id, ['active'], 'paused')) return false;
      store.schedules.dropQueued(s.id);
      store.outbox.addReply(s.conversation_id, messageId, `${scheduleHeading(s)}\n⏸️ Its last ${limit} runs failed, so I paused it (schedule.pause_after_failures). \`/jobs resume ${s.id}\` starts it again.`,
        Date.now() + config.outbox.deadline_s * 1000, { seq: PAUSED_SEQ });
      return true;
    });
    if (paused) bus.publish({ type: 'outbox' });
  }
}

/** What the chat is told of occurrences skipped under `catch_up = "none"`. */
function missedText(s: Schedule, first: number, latest: number, next: number | null): string {
  const when = first === latest ? `Its run due at ${formatTime(latest, s.timezone)}` : `Its runs due from ${formatTime(first, s.timezone)} to ${formatTime(latest, s.timezone)}`;
  const after = next === null ? 'Send it again, or schedule it anew with `/in` or `/at`.' : `Next run ${formatTime(next, s.timezone)}.`;
  return `⏭️ ${when} came while cligate was not running, so it did not run (schedule.catch_up = "none"). ${after}`;
}
