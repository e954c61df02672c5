/**
 * The terminal chat (`cligate chat`): lines typed on stdin are messages, answers stream onto stdout
 * as Claude writes them. Same queue, engine and commands as every other channel, no token needed.
 *
 * Output, one answer per block: `claude> <text>`; tool activity on its own line as `  · <status>`.
 * When Claude asks (a tool, a question, a plan), the request is printed with numbered choices and the
 * next line typed answers it: a number picks a choice, other text denies with that reason (or is the
 * answer to a question).
 */
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { ChatAdapter, AdapterCaps, AdapterHost, Card, ReplyTarget, ReplyText } from '../../src/adapter.js';
import { cardAsText } from '../../src/reply/card.js';

export interface LocalChatOptions {
  input: Readable;
  output: Writable;
  user: string;
  /** Called when the input ends (Ctrl-D): the caller shuts down once answers are out. */
  onEnd?: () => void;
}

interface Shown {
  text: string;
  status?: string;
  done: boolean;
}

export class LocalChatAdapter implements ChatAdapter {
  readonly platform = 'local' as const;
  readonly caps: AdapterCaps = { maxChars: 1_000_000, editIntervalMs: 0, typingIntervalMs: 0, appendOnly: true };
  private readonly shown = new Map<string, Shown>();
  private seq = 0;
  /** Refs stay unique across restarts: a draft posted before a crash may be edited after it. */
  private readonly refPrefix = Math.random().toString(36).slice(2, 8);
  private rl?: readline.Interface;
  /** The answer whose line is being written (the cursor is after its text). */
  private current?: string;
  /** The request waiting for an answer: the next line typed replies to it. */
  private openCard?: string;

  constructor(private readonly options: LocalChatOptions) {}

  async start(host: AdapterHost): Promise<void> {
    this.rl = readline.createInterface({ input: this.options.input, terminal: false });
    this.rl.on('line', (line) => {
      const text = line.trim();
      if (!text) return;
      host.receive({ address: { platform: 'local', chatId: 'terminal' }, userId: this.options.user, text, replyToRef: this.openCard })
        .then((result) => {
          if (result.status === 'refused' && result.text) this.write(`claude> ${result.text}\n`);
        })
        .catch((err) => host.log.error({ err }, 'local chat: message not accepted'));
    });
    this.rl.on('close', () => this.options.onEnd?.());
  }

  async stop(): Promise<void> {
    this.rl?.close();
  }

  async post(_target: ReplyTarget, reply: ReplyText): Promise<string> {
    const ref = `${this.refPrefix}-${++this.seq}`;
    const shown: Shown = { text: '', done: false };
    this.shown.set(ref, shown);
    this.render(ref, shown, reply);
    return ref;
  }

  async edit(_target: ReplyTarget, ref: string, reply: ReplyText): Promise<void> {
    const shown = this.shown.get(ref) ?? { text: '', done: false };
    this.shown.set(ref, shown);
    this.render(ref, shown, reply);
  }

  async postCard(target: ReplyTarget, card: Card): Promise<string> {
    const ref = await this.post(target, { markdown: cardAsText(card), partial: false });
    if (card.actions.length) this.openCard = ref;
    return ref;
  }

  async editCard(_target: ReplyTarget, ref: string, card: Card): Promise<void> {
    if (!card.actions.length && this.openCard === ref) this.openCard = undefined;
    // Only the outcome line is new: print it instead of the whole request again.
    this.endLine();
    this.write(`claude> ${card.markdown.split('\n\n').at(-1)}\n`);
  }

  async remove(_target: ReplyTarget, ref: string): Promise<void> {
    this.shown.delete(ref);
  }

  private render(ref: string, shown: Shown, reply: ReplyText): void {
    if (shown.done) {
      // Already complete on screen: only a changed final text is worth printing again.
      if (!reply.partial && reply.markdown !== shown.text) this.block(ref, shown, reply.markdown);
      if (!reply.partial) this.endLine();
      return;
    }
    if (reply.status && reply.status !== shown.status) {
      this.endLine();
      this.write(`  · ${reply.status}\n`);
      shown.status = reply.status;
    }
    const text = reply.markdown;
    if (this.current === ref && text.startsWith(shown.text)) {
      this.write(text.slice(shown.text.length));
      shown.text = text;
    } else if (text) {
      this.block(ref, shown, text);
    }
    if (!reply.partial) {
      this.endLine();
      shown.done = true;
      if (this.shown.size > 200) this.shown.delete(this.shown.keys().next().value!);
    }
  }

  /** Starts `claude> text` on a fresh line. */
  private block(ref: string, shown: Shown, text: string): void {
    this.endLine();
    this.write(`claude> ${text}`);
    shown.text = text;
    this.current = ref;
  }

  /** Ends the line being written, if any. */
  private endLine(): void {
    if (this.current !== undefined) this.write('\n');
    this.current = undefined;
  }

  private write(text: string): void {
    this.options.output.write(text);
  }
}
