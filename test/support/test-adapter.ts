/**
 * A chat platform for tests: messages are injected with `say`, and everything the core asks the
 * platform to do (post, edit, typing) is recorded. It is a real Adapter, so the path from accept to
 * delivery runs for real; only the platform at the far end is this recorder.
 */
import type { ChatAdapter, AdapterCaps, AdapterHost, ReceiveResult, ReplyTarget, ReplyText } from '../../src/adapter.js';
import { DeliveryError } from '../../src/adapter.js';

export interface RecordedCall {
  op: 'post' | 'edit' | 'typing' | 'remove';
  chatId: string;
  ref?: string;
  reply?: ReplyText;
  at: number;
}

export class TestAdapter implements ChatAdapter {
  readonly platform = 'local' as const;
  readonly calls: RecordedCall[] = [];
  /** Latest text of each posted message, by ref. */
  readonly messages = new Map<string, { chatId: string; text: string; final: boolean }>();
  /** Errors to throw from the next post/edit calls, in order. */
  readonly failures: DeliveryError[] = [];
  host?: AdapterHost;
  private seq = 0;
  private msgSeq = 0;

  constructor(readonly caps: AdapterCaps = { maxChars: 4000, editIntervalMs: 50, typingIntervalMs: 1000 }) {}

  async start(host: AdapterHost): Promise<void> {
    this.host = host;
  }

  async stop(): Promise<void> {}

  say(chatId: string, text: string, userId = 'tester'): Promise<ReceiveResult> {
    return this.host!.receive({ address: { platform: 'local', chatId }, userId, text, messageId: `m${++this.msgSeq}` });
  }

  async post(target: ReplyTarget, reply: ReplyText): Promise<string> {
    this.maybeFail();
    const ref = `r${++this.seq}`;
    this.calls.push({ op: 'post', chatId: target.address.chatId, ref, reply, at: Date.now() });
    this.messages.set(ref, { chatId: target.address.chatId, text: reply.markdown, final: !reply.partial });
    return ref;
  }

  async edit(target: ReplyTarget, ref: string, reply: ReplyText): Promise<void> {
    this.maybeFail();
    this.calls.push({ op: 'edit', chatId: target.address.chatId, ref, reply, at: Date.now() });
    this.messages.set(ref, { chatId: target.address.chatId, text: reply.markdown, final: !reply.partial });
  }

  async remove(target: ReplyTarget, ref: string): Promise<void> {
    this.calls.push({ op: 'remove', chatId: target.address.chatId, ref, at: Date.now() });
    this.messages.delete(ref);
  }

  async typing(target: ReplyTarget): Promise<void> {
    this.calls.push({ op: 'typing', chatId: target.address.chatId, at: Date.now() });
  }

  /** Final texts shown in a chat, in the order their messages were first posted. */
  finals(chatId: string): string[] {
    return [...this.messages.values()].filter((m) => m.chatId === chatId && m.final).map((m) => m.text);
  }

  private maybeFail(): void {
    const failure = this.failures.shift();
    if (failure) throw failure;
  }
}
