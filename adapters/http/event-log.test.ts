import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../src/bus.js';
import { EventLog } from './event-log.js';

const text = (n: number): JobEvent => ({ type: 'text', conversationId: 'c', messageId: 1, text: String(n) });

describe('the event log', () => {
  it('replays exactly what came after an id while it is kept, and says gone once it is not', () => {
    const log = new EventLog(4);
    const ids = Array.from({ length: 5 }, (_, n) => log.append(text(n)).id);
    const after = (id: string) => {
      const missed = log.since(id);
      return 'gone' in missed ? 'gone' : missed.events.map((e) => (e.event as { text: string }).text);
    };
    expect(after(ids[2]!)).toEqual(['3', '4']);
    expect(after(ids[4]!)).toEqual([]);
    for (let n = 5; n < 12; n++) log.append(text(n));
    expect(after(ids[0]!)).toBe('gone');
    expect(after(log.lastId)).toEqual([]);
    expect(after('another-epoch-3')).toBe('gone');
    expect(log.since(undefined)).toEqual({ events: [] });
  });

  it('tells a listener of one conversation its events only, and every event to the others', () => {
    const log = new EventLog(4);
    const mine: string[] = [];
    const all: string[] = [];
    const stop = log.subscribe((e) => mine.push(e.event.conversationId), 'http:a:b');
    log.subscribe((e) => all.push(e.event.conversationId));
    log.append({ ...text(1), conversationId: 'http:a:b' });
    log.append({ ...text(2), conversationId: 'http:a:c' });
    stop();
    log.append({ ...text(3), conversationId: 'http:a:b' });
    expect(mine).toEqual(['http:a:b']);
    expect(all).toEqual(['http:a:b', 'http:a:c', 'http:a:b']);
  });
});
