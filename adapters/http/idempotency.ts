/**
 * Idempotent retries, as Stripe does them: a request sent again with the same `Idempotency-Key` gets
 * the answer of the first one (waiting for it while its turn runs), never a second turn. The key is
 * stored as the message's platform id (`<user>:<key>`, so users cannot collide), with a hash of the
 * request beside it: the same key on a different request is refused (422), not taken for a retry.
 * Keys are kept as long as their messages, which cligate never deletes: well beyond 24 hours.
 */
import crypto from 'node:crypto';
import type { Context } from 'hono';
import type { GatewayApi } from '../../src/adapter.js';
import type { JobEvent } from '../../src/bus.js';
import type { MessageOutcome } from '../../src/store/messages.js';

/** Longest key accepted, in characters (Stripe's limit too). */
export const MAX_KEY_CHARS = 255;

/** How often a retry waiting for an answer looks at the database, in case the finish event went by unseen. */
const RECHECK_MS = 1000;

export interface IdempotentRequest {
  /** The key as the store knows it: scoped to the user. */
  messageId: string;
  requestSha256: string;
}

/**
 * The request's key and hash, or nothing without the header. The hash covers what makes the message
 * (endpoint, conversation, body), not the transport: a streamed request retried as plain JSON is the same request.
 */
export function idempotentRequest(
  c: Context, user: string, conversation: string, body: Uint8Array,
): IdempotentRequest | undefined | { error: string; code: string } {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!key.trim() || key.length > MAX_KEY_CHARS) {
    return { error: `The Idempotency-Key header must hold 1 to ${MAX_KEY_CHARS} characters (a UUID is a good key).`, code: 'invalid_idempotency_key' };
  }
  const hash = crypto.createHash('sha256').update(`${c.req.method} ${c.req.path}\n${conversation}\n`).update(body).digest('hex');
  return { messageId: `${user}:${key}`, requestSha256: hash };
}

/** Tells a client that an answer is a replay (Stripe's header), for JSON answers. */
export function replayHeaders(answer: { replayed?: true }): Record<string, string> {
  return answer.replayed ? { 'idempotent-replayed': 'true' } : {};
}

export const REUSED_KEY_ERROR =
  'This Idempotency-Key was already used for a different request (another text, conversation or endpoint). ' +
  'To get the first answer, send exactly the same request again; for a new message, use a new key.';

/**
 * The outcome of a message sent before, once it is finished: at once if it is, else when its turn
 * ends (through a crash and restart too, since the store has it). Undefined if `open()` turns false first.
 */
export async function finishedOutcome(
  api: GatewayApi, watch: (listener: (event: JobEvent) => void) => () => void, messageId: number, open: () => boolean,
): Promise<MessageOutcome | undefined> {
  let wake = () => {};
  // Listen first, then read: a turn ending in between is seen either way.
  const unsubscribe = watch((event) => {
    if (event.type === 'finished' && event.messageId === messageId) wake();
  });
  try {
    while (open()) {
      const outcome = api.outcomeOf(messageId);
      if (outcome && outcome.status !== 'queued' && outcome.status !== 'running') return outcome;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, RECHECK_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return undefined;
  } finally {
    unsubscribe();
  }
}
