import type { Schedule } from '../store/db.js';

/** The line a schedule's answer starts with: its id and name. */
export function scheduleHeading(s: Pick<Schedule, 'id' | 'name'>): string {
  return `⏰ **#${s.id} ${s.name}**`;
}
