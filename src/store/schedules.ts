/**
 * Schedules and people's time zones. Firing an occurrence is not here: it is a message insert
 * (src/schedules/scheduler.ts), whose platform id `<schedule id>@<occurrence ms>` is unique, plus the
 * conditional move of `next_run_at` below, both in one transaction.
 */
import { sql } from 'kysely';
import type { Db, MessageStatus, Schedule, SchedulesTable, ScheduleStatus } from './db.js';

/** A schedule as made from a command: the store sets its status, failure streak and times. */
export type NewSchedule = Omit<SchedulesTable, 'id' | 'status' | 'streak_from' | 'created_at' | 'updated_at' | 'next_run_at'> & { next_run_at: number };

/** The platform name of messages fired by a schedule; their platform id is `occurrenceKey()`. */
export const SCHEDULE_PLATFORM = 'schedule';

export function occurrenceKey(scheduleId: number, occurrenceAt: number): string {
  return `${scheduleId}@${occurrenceAt}`;
}

export class Schedules {
  constructor(private readonly db: Db) {}

  add(schedule: NewSchedule, now = Date.now()): Schedule {
    const { id } = this.db.first(
      this.db.q.insertInto('schedules').values({ ...schedule, status: 'active', streak_from: 0, created_at: now, updated_at: now }).returning('id'),
    )!;
    return this.get(id)!;
  }

  get(id: number): Schedule | undefined {
    return this.db.first(this.db.q.selectFrom('schedules').selectAll().where('id', '=', id));
  }

  /** A conversation's schedules that are still alive (active or paused), oldest first. */
  ofConversation(conversationId: string): Schedule[] {
    return this.db.all(
      this.db.q.selectFrom('schedules').selectAll()
        .where('conversation_id', '=', conversationId).where('status', 'in', ['active', 'paused']).orderBy('id'),
    );
  }

  /** Alive schedules made by a person (for schedule.max_per_person). */
  countByPerson(userKey: string): number {
    return this.db.first(
      this.db.q.selectFrom('schedules').select(sql<number>`count(*)`.as('n'))
        .where('user_key', '=', userKey).where('status', 'in', ['active', 'paused']),
    )?.n ?? 0;
  }

  /** Active schedules whose next occurrence is at or before `now`. */
  due(now: number): Schedule[] {
    return this.db.all(
      this.db.q.selectFrom('schedules').selectAll()
        .where('status', '=', 'active').where('next_run_at', '<=', now).orderBy('next_run_at').limit(100),
    );
  }

  /**
   * Moves an active schedule from the occurrence `from` to `next` (null: it is done). False when
   * another process moved it first: that process fires the occurrence, not this one.
   */
  advance(id: number, from: number, next: number | null, now = Date.now()): boolean {
    return this.db.run(
      this.db.q.updateTable('schedules')
        .set({ next_run_at: next, status: next === null ? 'done' : 'active', updated_at: now })
        .where('id', '=', id).where('status', '=', 'active').where('next_run_at', '=', from),
    ).changes === 1;
  }

  /** Changes the status from one of `from`; false when it was in none of them. */
  setStatus(id: number, from: ScheduleStatus[], status: ScheduleStatus, fields: { next_run_at?: number | null; streak_from?: number } = {}, now = Date.now()): boolean {
    return this.db.run(
      this.db.q.updateTable('schedules').set({ status, ...fields, updated_at: now }).where('id', '=', id).where('status', 'in', from),
    ).changes === 1;
  }

  /** Its latest runs, newest first; `finished`: only those that ran to an end or were refused (not queued, running or dropped). */
  runs(id: number, limit: number, options: { afterMessageId?: number; finished?: boolean } = {}): { id: number; status: MessageStatus; error_code: string | null; received_at: number }[] {
    let query = this.db.q.selectFrom('messages').select(['id', 'status', 'error_code', 'received_at'])
      .where('schedule_id', '=', id).where('id', '>', options.afterMessageId ?? 0);
    // Runs dropped from the queue (by a pause) never ran: they are no outcome.
    if (options.finished) query = query.where((eb) => eb.or([eb('status', 'in', ['done', 'failed']), eb.and([eb('status', '=', 'cancelled'), eb('started_at', 'is not', null)])]));
    return this.db.all(query.orderBy('id', 'desc').limit(limit));
  }

  /** Cancels its runs still waiting in the queue (when it is paused or cancelled). */
  dropQueued(id: number, now = Date.now()): number {
    return this.db.run(
      this.db.q.updateTable('messages').set({ status: 'cancelled', error_code: 'cancelled', finished_at: now })
        .where('schedule_id', '=', id).where('status', '=', 'queued'),
    ).changes;
  }

  /** The highest message id so far: a resumed schedule counts failures from here. */
  lastMessageId(): number {
    return this.db.first(this.db.q.selectFrom('messages').select(sql<number>`coalesce(max(id), 0)`.as('n')))?.n ?? 0;
  }

  counts(conversationId: string): { active: number; paused: number } {
    return this.db.first(
      this.db.q.selectFrom('schedules')
        .select([sql<number>`count(*) filter (where status = 'active')`.as('active'), sql<number>`count(*) filter (where status = 'paused')`.as('paused')])
        .where('conversation_id', '=', conversationId),
    ) ?? { active: 0, paused: 0 };
  }

  timezoneOf(userKey: string): string | undefined {
    return this.db.first(this.db.q.selectFrom('person_settings').select('timezone').where('user_key', '=', userKey))?.timezone ?? undefined;
  }

  setTimezone(userKey: string, timezone: string, now = Date.now()): void {
    this.db.run(
      this.db.q.insertInto('person_settings').values({ user_key: userKey, timezone, updated_at: now })
        .onConflict((oc) => oc.column('user_key').doUpdateSet({ timezone, updated_at: now })),
    );
  }
}
