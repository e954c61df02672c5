/**
 * Getting answers onto the platforms, the last step of the flow.
 *
 * Chat adapters: while a turn runs, a Draft (draft.ts) keeps one message up to date with the
 * partial answer, and approval requests are shown as cards in the same lane (showCard).
 * Stream adapters (the HTTP API) are handed every job event as it comes instead (their own
 * conversations' and, for a dashboard, every other's), a message's last (`finished`) carrying its answer.
 *
 * The final answer comes from the outbox, which the worker filled in the same transaction that
 * finished the turn: it is cut to the platform's size, the first chunk replaces the draft, the rest
 * are posted, each marked sent once the platform took it, retried with backoff until its deadline.
 * All of one conversation's platform calls go through one lane, so a late draft edit can never land
 * after the final text.
 */
import { DeliveryError, isStreamAdapter, type Adapter, type ChatAdapter, type ReplyContext, type ReplyTarget, type ReplyText } from './adapter.js';
import type { ApprovalDesk } from './approvals/index.js';
import type { Bus, BusEvent, JobEvent } from './bus.js';
import type { Logger } from './log.js';
import { platformOf, type Platform } from './message.js';
import { cardAsText } from './reply/card.js';
import { Draft, type DraftLane } from './draft.js';
import { chunkMarkdown } from './reply/chunk.js';
import type { Conversation, Message, OutboxRow } from './store/db.js';
import type { Store } from './store/index.js';

export interface DeliveryDeps {
  store: Store;
  bus: Bus;
  adapters: Map<Platform, Adapter>;
  log: Logger;
  /** Draws approval requests as cards. */
  desk?: ApprovalDesk;
  /** How often to look for replies due for a retry. */
  tickMs?: number;
  /** Whether this gateway serves a chat platform now (several gateways: one at a time, src/platform-leases.ts). */
  serves?: (platform: Platform) => boolean;
}

const MAX_BACKOFF_MS = 5 * 60_000;

export class Delivery implements DraftLane {
  private readonly lanes = new Map<string, Promise<unknown>>();
  private readonly drafts = new Map<number, Draft>();
  private readonly inFlight = new Set<number>();
  private unsubscribe?: () => void;
  private tick?: NodeJS.Timeout;
  /** Per conversation: no platform call before this time (a 429's retry-after). */
  private readonly pausedUntil = new Map<string, number>();
  private dispatching?: Promise<void>;
  private again = false;
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {}

  start(): void {
    this.unsubscribe = this.deps.bus.subscribe((event) => this.onEvent(event));
    this.tick = setInterval(() => this.kick(), this.deps.tickMs ?? 1000);
    this.tick.unref();
    this.kick();
  }

  /** Stops drafts and waits (up to `waitMs`) for deliveries in progress. */
  async stop(waitMs = 5000): Promise<void> {
    this.unsubscribe?.();
    clearInterval(this.tick);
    // One last look for replies to send, then no more.
    this.kick();
    while (this.dispatching) await this.dispatching;
    this.stopped = true;
    for (const draft of this.drafts.values()) draft.finish();
    this.drafts.clear();
    await Promise.race([Promise.allSettled([...this.lanes.values()]), new Promise((r) => setTimeout(r, waitMs).unref())]);
  }

  /** Runs `fn` after everything already queued for this conversation. */
  lane<T>(conversationId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.lanes.get(conversationId) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.lanes.set(conversationId, settled);
    void settled.then(() => {
      if (this.lanes.get(conversationId) === settled) this.lanes.delete(conversationId);
    });
    return next;
  }

  /** Holds every call for this conversation until `ms` from now. */
  pause(conversationId: string, ms: number): void {
    this.pausedUntil.set(conversationId, Math.max(this.pausedUntil.get(conversationId) ?? 0, Date.now() + ms));
  }

  /** When calls for this conversation may go out again. */
  resumesAt(conversationId: string): number {
    return this.pausedUntil.get(conversationId) ?? 0;
  }

  private async waitForPause(conversationId: string): Promise<void> {
    const wait = this.resumesAt(conversationId) - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }

  /** Remembers the draft a Draft posted, so the final answer edits it (also after a restart). */
  recordDraft(conversationId: string, messageId: number, ref: string): void {
    this.deps.store.outbox.setDraft(conversationId, messageId, ref);
  }

  /** The draft left by an earlier attempt at this message, if any. */
  draftOf(messageId: number): string | undefined {
    return this.deps.store.outbox.row(messageId, 0)?.platform_ref ?? undefined;
  }

  /** Whether the conversation's platform is a stream adapter running here (see dispatch). */
  private streams(conversationId: string): boolean {
    const adapter = this.deps.adapters.get(platformOf(conversationId));
    return !!adapter && isStreamAdapter(adapter);
  }

  private serves(platform: Platform): boolean {
    return this.deps.serves?.(platform) ?? true;
  }

  /** Looks for replies to send now. */
  kick(): void {
    if (this.stopped) return;
    if (this.dispatching) {
      this.again = true;
      return;
    }
    this.dispatching = this.dispatch()
      .catch((err) => this.deps.log.error({ err }, 'outbox dispatch failed'))
      .finally(() => {
        this.dispatching = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private onEvent(event: BusEvent): void {
    if ('messageId' in event) {
      for (const adapter of this.deps.adapters.values()) if (isStreamAdapter(adapter)) adapter.follow(event);
      const adapter = this.deps.adapters.get(platformOf(event.conversationId));
      if (adapter && isStreamAdapter(adapter)) return;
      // Drafts and cards of a platform another gateway serves are drawn there.
      if (!this.serves(platformOf(event.conversationId))) return;
    }
    switch (event.type) {
      case 'outbox':
        this.kick();
        return;
      case 'queued':
      case 'started':
      case 'text':
      case 'tool':
      case 'status':
        this.draftFor(event)?.on(event);
        return;
      case 'finished':
        this.drafts.get(event.messageId)?.finish();
        this.drafts.delete(event.messageId);
        return;
      case 'approval':
      case 'approval_update':
        this.showCard(event.conversationId, event.approvalId);
        return;
      default:
        return;
    }
  }

  private draftFor(event: JobEvent): Draft | undefined {
    const existing = this.drafts.get(event.messageId);
    if (existing) return existing;
    const conversation = this.deps.store.conversations.get(event.conversationId);
    const message = this.deps.store.messages.get(event.messageId);
    const adapter = conversation && this.deps.adapters.get(conversation.platform);
    if (!conversation || !message || !adapter || isStreamAdapter(adapter) || message.status === 'done') return undefined;
    const draft = new Draft(this, adapter, conversation, message, targetOf(conversation, message), this.deps.log);
    this.drafts.set(event.messageId, draft);
    return draft;
  }

  private async dispatch(): Promise<void> {
    const { store } = this.deps;
    const due = store.outbox.due().filter((row) => !this.inFlight.has(row.id));
    // A stream adapter's clients had the answer in the message's `finished` event: its rows are only
    // recorded as gone out, all in one transaction.
    const streamed: OutboxRow[] = [];
    const rows: OutboxRow[] = [];
    for (const row of due) (this.streams(row.conversation_id) ? streamed : rows).push(row);
    if (streamed.length) store.db.tx(() => streamed.forEach((row) => store.outbox.markSent(row.id, null)));
    const byConversation = new Map<string, OutboxRow[]>();
    for (const row of rows) {
      const list = byConversation.get(row.conversation_id) ?? [];
      list.push(row);
      byConversation.set(row.conversation_id, list);
    }
    const work: Promise<void>[] = [];
    for (const [conversationId, list] of byConversation) {
      if (this.deps.store.outbox.blocked(conversationId)) continue;
      for (const row of list) this.inFlight.add(row.id);
      work.push(this.lane(conversationId, async () => {
        try {
          for (const row of list) {
            if (!(await this.deliver(row.id))) break;
          }
        } finally {
          for (const row of list) this.inFlight.delete(row.id);
        }
      }));
    }
    await Promise.allSettled(work);
  }

  /**
   * Shows an approval request, or redraws it once answered. In the conversation's lane, so the card
   * comes after the draft that led to it and its redraw after its post. A request that cannot be
   * shown is retried a few times; after that it waits for its timeout, which denies it.
   */
  private showCard(conversationId: string, approvalId: number): void {
    const { store, desk, log } = this.deps;
    const conversation = store.conversations.get(conversationId);
    const adapter = conversation && this.deps.adapters.get(conversation.platform);
    if (!desk || !conversation || !adapter || isStreamAdapter(adapter)) return;
    void this.lane(conversationId, async () => {
      for (let attempt = 0; attempt < 5 && !this.stopped; attempt++) {
        const row = store.approvals.get(approvalId);
        if (!row || (!row.platform_ref && row.status !== 'pending')) return;
        const card = desk.card(row);
        const target = targetOf(conversation, store.messages.get(row.message_id));
        try {
          await this.waitForPause(conversationId);
          if (!row.platform_ref) {
            await this.retireDraft(row.message_id, adapter, target);
            const ref = adapter.postCard ? await adapter.postCard(target, card) : await adapter.post(target, { markdown: cardAsText(card), partial: false });
            store.approvals.setRef(row.id, ref);
          } else if (adapter.editCard) {
            await adapter.editCard(target, row.platform_ref, card);
          } else {
            await adapter.edit(target, row.platform_ref, { markdown: cardAsText(card), partial: false });
          }
          return;
        } catch (err) {
          if (err instanceof DeliveryError && err.retryAfterMs) this.pause(conversationId, err.retryAfterMs);
          log.warn({ conversationId, approvalId, err }, 'approval request could not be shown; retrying');
          if (err instanceof DeliveryError && !err.retryable) return;
          await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
        }
      }
    });
  }

  /**
   * A request goes at the bottom of the chat, and what Claude writes after it must come below it, not
   * in the draft above: so the draft leading up to the request is removed (the final answer never
   * shows the text before a tool call anyway), and the answer streams into a new draft under the card.
   */
  private async retireDraft(messageId: number, adapter: ChatAdapter, target: ReplyTarget): Promise<void> {
    this.drafts.get(messageId)?.detach();
    const ref = this.deps.store.outbox.clearDraft(messageId);
    if (ref && adapter.remove) await adapter.remove(target, ref).catch((err) => this.deps.log.debug({ err: (err as Error).message }, 'draft removal failed'));
  }

  /** Delivers one outbox row (read afresh: a draft may have been posted meanwhile). False: stop this conversation for now. */
  private async deliver(rowId: number): Promise<boolean> {
    const { store, log } = this.deps;
    const row = store.outbox.get(rowId);
    if (!row || row.status !== 'pending') return true;
    const conversation = store.conversations.get(row.conversation_id);
    const message = row.message_id !== null ? store.messages.get(row.message_id) : undefined;
    const adapter = conversation && this.deps.adapters.get(conversation.platform);
    // That platform is not running here: keep it for later (a stream adapter's rows never come here, see dispatch).
    if (!conversation || !adapter || isStreamAdapter(adapter)) return false;
    if (!this.serves(conversation.platform)) return false; // another gateway serves it
    this.drafts.get(row.message_id ?? -1)?.finish();
    const target = targetOf(conversation, message);

    const rows = row.split ? [row] : store.outbox.split(row, row.file_path ? [row.text] : splitForPlatform(row.text, adapter));
    for (const part of rows) {
      if (part.status !== 'pending') continue;
      try {
        await this.waitForPause(conversation.id);
        const ref = await this.send(adapter, target, part);
        store.outbox.markSent(part.id, ref);
      } catch (err) {
        const retryable = !(err instanceof DeliveryError) || err.retryable;
        const reason = err instanceof Error ? err.message : String(err);
        const now = Date.now();
        if (!retryable || now >= part.deadline_at) {
          log.error({ conversationId: conversation.id, outboxId: part.id, reason }, 'reply could not be delivered; giving up');
          store.outbox.markFailed(part.id, reason);
          continue;
        }
        const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** part.attempts);
        const retryAfter = err instanceof DeliveryError ? err.retryAfterMs ?? 0 : 0;
        if (retryAfter) this.pause(conversation.id, retryAfter);
        const wait = Math.max(backoff, retryAfter);
        log.warn({ conversationId: conversation.id, outboxId: part.id, reason, retryInMs: wait }, 'reply delivery failed; will retry');
        store.outbox.markRetry(part.id, reason, Math.min(now + wait, part.deadline_at));
        return false;
      }
    }
    return true;
  }

  private async send(adapter: ChatAdapter, target: ReplyTarget, row: OutboxRow): Promise<string | null> {
    if (row.file_path) {
      if (!adapter.sendFile) throw new DeliveryError(`${adapter.platform} cannot send files`, false);
      await adapter.sendFile(target, { path: row.file_path, name: row.text || row.file_path.split('/').pop()! });
      return null;
    }
    const reply: ReplyText = { markdown: row.text, partial: false, ephemeral: row.ephemeral === 1 };
    // The row that carries a draft's id (Outbox.setDraft) is the answer's first chunk.
    const draft = row.platform_ref;
    return draft ? finalReplacesDraft(adapter, target, draft, reply) : adapter.post(target, reply);
  }
}

/**
 * The final answer replaces the draft that streamed it, so a person sees one message, not two: the
 * draft is edited into the final text, removed when the final answer is empty, and when the
 * platform can no longer edit it (deleted, too old) the answer is posted anew.
 */
async function finalReplacesDraft(adapter: ChatAdapter, target: ReplyTarget, draft: string, reply: ReplyText): Promise<string> {
  if (!reply.markdown) {
    if (adapter.remove) await adapter.remove(target, draft);
    return draft;
  }
  try {
    await adapter.edit(target, draft, reply);
    return draft;
  } catch (err) {
    if (err instanceof DeliveryError && !err.retryable) return adapter.post(target, reply);
    throw err;
  }
}

/** Where the answer to this message goes. */
export function targetOf(conversation: Conversation, message: Message | undefined): ReplyTarget {
  return {
    address: { platform: conversation.platform, chatId: conversation.chat_id, threadId: conversation.thread_id || undefined },
    replyTo: message?.platform_message_id ?? undefined,
    context: message?.reply_context ? (JSON.parse(message.reply_context) as ReplyContext) : undefined,
  };
}

function splitForPlatform(text: string, adapter: ChatAdapter): string[] {
  if (!text) return [''];
  return chunkMarkdown(text, adapter.caps.maxChars);
}
