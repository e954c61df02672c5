/** Time zones by IANA name, read with Intl (no dependency: the config checks `gateway.timezone` with it). */

/** True for a time zone name Intl knows (e.g. "Europe/Berlin", "UTC"). */
export function isTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The zone's offset from UTC in minutes at that instant (chrono-node takes offsets, not zone names). */
export function offsetMinutes(timezone: string, at: number): number {
  const name = new Intl.DateTimeFormat('en', { timeZone: timezone, timeZoneName: 'longOffset' }).formatToParts(new Date(at))
    .find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(name);
  if (!m) return 0;
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3] ?? 0));
}
