/**
 * Drafting: while a turn runs, a Draft follows its events and keeps one message on the platform up
 * to date, posted as soon as text (or a tool status line) exists, then edited no faster than the
 * platform allows, from a repaired copy of the partial Markdown. Intermediate edits are best-effort;
 * the final answer comes from the outbox and replaces the draft (see `Delivery.send`).
 */
import { DeliveryError, STOP_ACTION, type ChatAdapter, type ReplyTarget, type ReplyText } from './adapter.js';
import type { JobEvent } from './bus.js';
import type { Logger } from './log.js';
import { fenceAfter } from './reply/chunk.js';
import { repairPartial } from './reply/partial.js';
import type { Conversation, Message } from './store/db.js';

/** What a draft needs from delivery: the conversation's one lane of platform calls, its 429 pauses, and where its id is kept. */
export interface DraftLane {
  lane<T>(conversationId: string, fn: () => Promise<T>): Promise<T>;
  pause(conversationId: string, ms: number): void;
  resumesAt(conversationId: string): number;
  recordDraft(conversationId: string, messageId: number, ref: string): void;
  draftOf(messageId: number): string | undefined;
}

const MAX_TYPING_MS = 30 * 60_000;

/** One streaming answer's draft message. */
export class Draft {
  private text = '';
  private status?: string;
  private newBlock = false;
  private ref?: string;
  private finished = false;
  private timer?: NodeJS.Timeout;
  private typingTimer?: NodeJS.Timeout;
  private typingUntil = 0;
  private lastEditAt = 0;
  private shown = '';

  constructor(
    private readonly delivery: DraftLane,
    private readonly adapter: ChatAdapter,
    private readonly conversation: Conversation,
    private readonly message: Message,
    private readonly target: ReplyTarget,
    private readonly log: Logger,
  ) {
    this.ref = delivery.draftOf(message.id);
  }

  on(event: JobEvent): void {
    if (this.finished) return;
    switch (event.type) {
      case 'queued':
        this.startTyping();
        return;
      case 'started':
        // A new attempt (after a crash or a retry) writes its answer from the start.
        this.text = '';
        this.status = undefined;
        this.newBlock = false;
        this.startTyping();
        return;
      case 'text':
        if (this.newBlock) {
          // Text after a tool call is a new message from Claude; the status line has done its job.
          this.text = '';
          this.status = undefined;
          this.newBlock = false;
        }
        this.text += event.text;
        break;
      case 'tool':
        this.status = event.summary;
        this.newBlock = true;
        break;
      case 'status':
        this.status = event.text;
        break;
      default:
        return;
    }
    this.schedule();
  }

  /** The draft message is gone from the chat (see Delivery.showCard): the next update posts a new one. */
  detach(): void {
    this.ref = undefined;
    this.shown = '';
  }

  finish(): void {
    this.finished = true;
    clearTimeout(this.timer);
    clearTimeout(this.typingTimer);
  }

  private startTyping(): void {
    if (!this.adapter.typing || this.typingTimer || this.finished) return;
    this.typingUntil = Date.now() + MAX_TYPING_MS;
    const beat = () => {
      if (this.finished || Date.now() > this.typingUntil) return;
      this.adapter.typing!(this.target).catch(() => {});
      if (this.adapter.caps.typingIntervalMs > 0) this.typingTimer = setTimeout(beat, this.adapter.caps.typingIntervalMs);
    };
    beat();
  }

  private schedule(): void {
    if (this.finished || this.timer) return;
    const now = Date.now();
    const wait = Math.max(0, this.lastEditAt + this.adapter.caps.editIntervalMs - now, this.delivery.resumesAt(this.conversation.id) - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.delivery.lane(this.conversation.id, () => this.flush());
    }, wait);
  }

  private async flush(): Promise<void> {
    if (this.finished) return;
    // A 429 may have paused this conversation after this edit was scheduled: wait it out first.
    if (this.delivery.resumesAt(this.conversation.id) > Date.now()) {
      this.schedule();
      return;
    }
    const reply = this.preview();
    const key = `${reply.markdown}\u0000${reply.status ?? ''}`;
    if (key === this.shown || (!reply.markdown && !reply.status)) return;
    this.lastEditAt = Date.now();
    try {
      if (this.ref) {
        await this.adapter.edit(this.target, this.ref, reply);
      } else {
        this.ref = await this.adapter.post(this.target, reply);
        this.delivery.recordDraft(this.conversation.id, this.message.id, this.ref);
      }
      this.shown = key;
    } catch (err) {
      if (err instanceof DeliveryError && err.retryAfterMs) this.delivery.pause(this.conversation.id, err.retryAfterMs);
      this.log.debug({ conversationId: this.conversation.id, err: (err as Error).message }, 'draft update failed');
    }
    // Text that arrived while this edit was in flight gets its own edit.
    if (!this.finished && key !== `${this.preview().markdown}\u0000${this.preview().status ?? ''}`) this.schedule();
  }

  /** What the draft shows now: the tail of the text if it is longer than one message, made displayable. */
  private preview(): ReplyText {
    const status = this.status;
    if (this.adapter.caps.appendOnly) return { markdown: this.text, partial: true, status };
    const actions = this.adapter.caps.buttons ? [{ id: STOP_ACTION, label: 'Stop' }] : undefined;
    const room = this.adapter.caps.maxChars - (status ? status.length + 8 : 0) - 16;
    let text = this.text;
    if (text.length > room) {
      const start = text.length - room;
      const lineStart = text.indexOf('\n', start);
      const cut = lineStart >= 0 && lineStart - start < 200 ? lineStart + 1 : start;
      const fence = fenceAfter(text.slice(0, cut), undefined);
      text = '…\n' + (fence ? `${fence.marker}${fence.info}\n` : '') + text.slice(cut);
    }
    return { markdown: repairPartial(text), partial: true, status, actions };
  }
}
