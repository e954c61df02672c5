/**
 * The job events this process has seen, numbered, the latest few thousand kept. Every event stream
 * sends an event with its number as the SSE `id`; a client that reconnects with `Last-Event-ID` is
 * sent what it missed, each event once. Numbers belong to this process: an id from before a restart
 * (another epoch), or older than the window, cannot be replayed, and the client is told to reload.
 */
import crypto from 'node:crypto';
import type { JobEvent } from '../../src/bus.js';

export interface LoggedEvent {
  /** `<epoch>-<seq>`: the SSE id. */
  id: string;
  seq: number;
  event: JobEvent;
}

/** What a reconnecting client missed: the events, or `gone` when they can no longer be told. */
export type Missed = { events: LoggedEvent[] } | { gone: true };

export class EventLog {
  private readonly epoch = crypto.randomBytes(4).toString('hex');
  private seq = 0;
  private readonly entries: LoggedEvent[] = [];
  private readonly listeners = new Set<(entry: LoggedEvent) => void>();
  /** Listeners of one conversation's events: a request waiting for its answer (thousands may wait). */
  private readonly byConversation = new Map<string, Set<(entry: LoggedEvent) => void>>();

  constructor(private readonly capacity = 5000) {}

  append(event: JobEvent): LoggedEvent {
    const seq = ++this.seq;
    const entry = { id: `${this.epoch}-${seq}`, seq, event };
    this.entries.push(entry);
    // Trimmed a quarter at a time, not one entry per event: every job event passes here.
    if (this.entries.length > this.capacity * 1.25) this.entries.splice(0, this.entries.length - this.capacity);
    for (const listener of this.listeners) listener(entry);
    const own = this.byConversation.get(event.conversationId);
    if (own) for (const listener of own) listener(entry);
    return entry;
  }

  /** Every event from now on; with `conversationId`, only that conversation's. */
  subscribe(listener: (entry: LoggedEvent) => void, conversationId?: string): () => void {
    if (conversationId === undefined) {
      this.listeners.add(listener);
      return () => this.listeners.delete(listener);
    }
    let own = this.byConversation.get(conversationId);
    if (!own) this.byConversation.set(conversationId, (own = new Set()));
    own.add(listener);
    return () => {
      own.delete(listener);
      if (own.size === 0 && this.byConversation.get(conversationId) === own) this.byConversation.delete(conversationId);
    };
  }

  /** The events after `lastEventId` (none without one: a fresh client starts from now). */
  since(lastEventId: string | undefined): Missed {
    if (!lastEventId) return { events: [] };
    const [epoch, seqText] = lastEventId.split('-');
    const seq = Number(seqText);
    if (epoch !== this.epoch || !Number.isInteger(seq) || seq > this.seq) return { gone: true };
    const first = this.entries[0]?.seq ?? this.seq + 1;
    // The event right after the client's last one must still be here.
    if (seq + 1 < first) return { gone: true };
    return { events: this.entries.slice(seq + 1 - first) };
  }

  /** The latest id, for a client that starts now. */
  get lastId(): string {
    return `${this.epoch}-${this.seq}`;
  }
}
