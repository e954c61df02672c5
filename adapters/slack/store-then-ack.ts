/**
 * Bolt acknowledges an Events API event before any listener has run, and in Socket Mode the ack goes
 * out at once (HTTP mode's processBeforeResponse holds the response; Socket Mode has no such option).
 * This App holds that acknowledgement back until the listeners are done, so the event is in the inbox
 * before Slack hears it arrived: a crash in between means Slack delivers it again, and the copy is
 * recognised as a duplicate. A store takes well under a millisecond; Slack allows 3 s.
 *
 * Other envelopes (slash commands) pass through untouched: their listener acknowledges itself, once
 * the command is stored.
 */
import { App, type ReceiverEvent } from '@slack/bolt';

export class StoreThenAckApp extends App {
  override async processEvent(event: ReceiverEvent): Promise<void> {
    if (event.body.type !== 'event_callback') return super.processEvent(event);
    let acknowledged = false;
    let response: unknown;
    await super.processEvent({
      ...event,
      ack: async (body?: unknown) => {
        acknowledged = true;
        response = body;
      },
    });
    // A listener that threw (the adapter's error handler rethrows) rejects above: no ack, so Slack retries.
    if (acknowledged) await event.ack(response);
  }
}
