/**
 * Accepting a message: the first step after an adapter. Decides, in this order, whether the sender
 * may use the gateway, whether the message was seen before, whether it is a command, too long,
 * over the sender's rate or budget; then stores it (before the platform is acknowledged) and wakes
 * the queue. Every refusal to an allowed person is a reply through the outbox, like any answer.
 */
import { platformNamed } from '../adapters/index.js';
import { STOP_ACTION, type ActionResult, type InboundAction, type ReceiveOptions, type ReceiveResult } from './adapter.js';
import type { ApprovalDesk } from './approvals/index.js';
import type { Bus, BusEvent } from './bus.js';
import { parseCommand, runCommand, type CommandHandler, type CommandResult } from './commands.js';
import type { Config, EngineName } from './config/schema.js';
import type { Logger } from './log.js';
import { conversationIdOf, type ChatAddress, type InboundMessage, type Platform, type SavedFile } from './message.js';
import { sectionOf, type AccessPolicy } from './platform.js';
import { isGoneLocally, localProcessOf, processRecord } from './process-id.js';
import type { JobQueue } from './queue/types.js';
import type { Conversation, Message } from './store/db.js';
import type { Store } from './store/index.js';
import type { NewMessage } from './store/messages.js';
import { NOTE_SEQ, type ReplyOptions } from './store/outbox.js';
import { saveUpload, workspacePath } from './workspace.js';
import type { MessageErrorCode } from './engine/types.js';

/** This gateway, as the answerer of the commands it stores. */
const OWN_PROCESS = processRecord(process.pid);
/** A command of another machine's gateway still unanswered after this long was left by a crash. */
const ORPHANED_COMMAND_MS = 5 * 60_000;

/** Who may talk on a platform, as its definition in the registry says; an unknown platform: nobody. */
export function accessPolicy(config: Config, platform: Platform): AccessPolicy {
  const definition = platformNamed(platform);
  return definition ? definition.access(sectionOf(config, definition)) : { open: false, users: [], places: [] };
}

/** The person a platform user is: a name from [people] when configured, else "platform:id". */
export function userKeyOf(config: Config, platform: Platform, userId: string): string {
  for (const [name, ids] of Object.entries(config.people)) {
    if ((ids as Record<string, string | undefined>)[platform] === userId) return name;
  }
  return `${platform}:${userId}`;
}

export interface IntakeDeps {
  store: Store;
  queue: JobQueue;
  bus: Bus;
  config: Config;
  log: Logger;
  /** Answers to approval requests arrive here too (a reply to the request, a numbered choice). */
  desk?: ApprovalDesk;
  enabledEngines: EngineName[];
  commandExtensions?: Map<string, CommandHandler>;
  /** Largest attachment per platform, in bytes. */
  maxFileBytes?: (platform: Platform) => number;
}

const MINUTE = 60_000;
const DAY = 24 * 3600_000;

export class Intake {
  /** People refused once already: they get one polite refusal, then silence. */
  private readonly refused = new Set<string>();

  constructor(private readonly deps: IntakeDeps) {}

  async receive(inbound: InboundMessage, options: ReceiveOptions = {}): Promise<ReceiveResult> {
    const { store, config, log } = this.deps;
    const platform = inbound.address.platform;
    const refusal = this.checkAccess(inbound);
    if (refusal) return refusal;

    const earlier = this.earlier(inbound);
    if (earlier) return earlier;
    const text = (inbound.text ?? '').toWellFormed().replace(/\u0000/g, '').trim();
    const conversation = store.conversations.ensure(inbound.address, inbound.userId);
    const answer = text && this.deps.desk?.answerByText(conversation, text, inbound.replyToRef, { platform, userId: inbound.userId, name: inbound.userName });
    if (answer) return { status: answer.ok ? 'answered' : 'refused', text: answer.text, conversationId: conversation.id };
    const userKey = userKeyOf(config, platform, inbound.userId);
    const command = parseCommand(text);
    const base = {
      conversation_id: conversation.id, platform, platform_message_id: inbound.messageId ?? null,
      request_sha256: inbound.messageId ? inbound.requestSha256 ?? null : null,
      user_id: inbound.userId, user_key: userKey, text,
      attachments: null, reply_context: inbound.replyContext ? JSON.stringify(inbound.replyContext) : null,
      received_at: Date.now(), ...(inbound.canAsk === false ? { can_ask: 0 } : {}),
    };

    if (command) {
      const id = this.storeMessage({ ...base, kind: 'command', status: 'running', engine_process: OWN_PROCESS });
      if (id === 'duplicate') return this.earlier(inbound) ?? { status: 'duplicate' };
      options.onStored?.();
      await this.answerCommand(store.messages.get(id)!, conversation);
      return { status: 'handled', conversationId: conversation.id, messageId: id };
    }

    const problem = this.problemWith(text, inbound, userKey);
    if (problem) {
      const id = this.storeMessage({ ...base, kind: 'prompt', status: 'failed' });
      if (id === 'duplicate') return this.earlier(inbound) ?? { status: 'duplicate' };
      options.onStored?.();
      this.notice(conversation, id, problem.text, { errorCode: problem.code });
      return { status: 'handled', conversationId: conversation.id, messageId: id };
    }

    // Without files no await: a plain message is stored in the same synchronous step as the checks (see Pacer).
    const { saved, notes } = inbound.files?.length ? await this.saveFiles(inbound, conversation) : { saved: [] as SavedFile[], notes: [] as string[] };
    // The person's text and their files stay apart; the worker tells the engine where the files are.
    const id = this.storeMessage({ ...base, kind: 'prompt', status: 'queued', attachments: saved.length ? JSON.stringify(saved) : null }, transcriptLine(text, saved));
    if (id === 'duplicate') return this.earlier(inbound) ?? { status: 'duplicate' };
    options.onStored?.();
    if (notes.length) this.outboxNotice(conversation, id, notes.join('\n'), { seq: NOTE_SEQ });
    const position = store.messages.counts(conversation.id).queued;
    this.deps.bus.publish({ type: 'queued', conversationId: conversation.id, messageId: id, position });
    // The message is safe in the inbox: a lost wake is made good by the queue's sweep or the next start.
    this.deps.queue.wake(conversation.id).catch((err) => log.warn({ err }, 'wake failed; the sweep will pick it up'));
    return { status: 'accepted', conversationId: conversation.id, messageId: id };
  }

  /**
   * A message no person typed just now: a schedule's occurrence or a webhook's delivery. It is stored
   * and queued like a person's message (same checks after the allow-list, same order, engine and
   * session), from the person it runs as. Its platform is the source ('schedule', 'webhook') and
   * `sourceId` its platform id, so the same occurrence or delivery is stored once. `claim` runs in
   * the insert's transaction; when it returns false, another process has taken this one.
   */
  submit(submission: Submission): Extract<ReceiveResult, { status: 'accepted' | 'handled' | 'duplicate' | 'refused' }> | { status: 'taken' } {
    const { store, config, log } = this.deps;
    const address = addressOfConversation(submission.conversationId);
    const policy = accessPolicy(config, address.platform);
    if (!policy.open && !policy.users.includes(submission.userId)) {
      return { status: 'refused', text: `${address.platform}:${submission.userId} is not on the allow-list (${address.platform}.${policy.usersKey ?? 'allowed_users'})` };
    }
    const conversation = store.conversations.get(submission.conversationId) ?? store.conversations.ensure(address, submission.userId);
    const text = submission.text.toWellFormed().replace(/\u0000/g, '').trim();
    const userKey = userKeyOf(config, address.platform, submission.userId);
    const base = {
      conversation_id: conversation.id, platform: submission.source, platform_message_id: submission.sourceId ?? null, request_sha256: null,
      user_id: submission.userId, user_key: userKey, text, attachments: null, reply_context: null, received_at: Date.now(),
      schedule_id: submission.scheduleId ?? null,
    };
    const problem = this.problemWith(text, {}, userKey);
    const id = store.db.tx(() => {
      if (submission.claim && !submission.claim()) return 'taken' as const;
      // Never queued, so no worker can take it before it is answered below.
      if (submission.skipped !== undefined) return this.storeMessage({ ...base, kind: 'prompt', status: 'cancelled' });
      return this.storeMessage({ ...base, kind: 'prompt', status: problem ? 'failed' : 'queued' }, problem ? undefined : text);
    });
    if (id === 'taken') return { status: 'taken' };
    if (id === 'duplicate') {
      const stored = store.messages.byPlatformId(submission.source, submission.sourceId!);
      return { status: 'duplicate', conversationId: conversation.id, messageId: stored?.id };
    }
    if (submission.skipped !== undefined) {
      this.notice(conversation, id, [submission.heading, submission.skipped].filter(Boolean).join('\n'), { errorCode: 'cancelled', status: 'cancelled' });
      return { status: 'handled', conversationId: conversation.id, messageId: id };
    }
    if (problem) {
      this.notice(conversation, id, [submission.heading, problem.text].filter(Boolean).join('\n'), { errorCode: problem.code });
      return { status: 'handled', conversationId: conversation.id, messageId: id };
    }
    const position = store.messages.counts(conversation.id).queued;
    this.deps.bus.publish({ type: 'queued', conversationId: conversation.id, messageId: id, position });
    this.deps.queue.wake(conversation.id).catch((err) => log.warn({ err }, 'wake failed; the sweep will pick it up'));
    return { status: 'accepted', conversationId: conversation.id, messageId: id };
  }

  /**
   * A button click: an approval request's answer, or a draft's Stop (the same as /stop from the
   * clicker, so the allow-list and the usual reply apply).
   */
  async act(action: InboundAction): Promise<ActionResult> {
    if (action.actionId === STOP_ACTION) {
      const result = await this.receive({ address: action.address, userId: action.userId, userName: action.userName, text: '/stop' });
      if (result.status === 'refused') return { ok: false, text: result.text };
      if (result.status === 'ignored') return { ok: false, text: 'Sorry, this is a private bot and you are not on its allow-list.' };
      return { ok: true, text: 'Stopping.' };
    }
    if (!this.deps.desk) return { ok: false, text: 'Approvals are not handled by this process.' };
    return this.deps.desk.act(action);
  }

  /**
   * Answers commands a crash left unanswered (run at start). Not those another gateway sharing the
   * store is answering right now: only a command whose gateway is gone from this machine, or, from
   * another machine (which nobody here can check), one unanswered for ORPHANED_COMMAND_MS.
   */
  async recover(now = Date.now()): Promise<void> {
    const { store } = this.deps;
    for (const message of store.messages.unfinishedCommands()) {
      const owner = message.engine_process;
      const orphaned = owner === null || owner === OWN_PROCESS || isGoneLocally(owner)
        || (!localProcessOf(owner) && now - message.received_at > ORPHANED_COMMAND_MS);
      if (!orphaned || !store.messages.takeCommand(message.id, owner, OWN_PROCESS)) continue;
      const conversation = store.conversations.get(message.conversation_id);
      if (conversation) await this.answerCommand(message, conversation);
    }
  }

  /**
   * Stores a message in one transaction: the message, the conversation's last-message time and, for
   * a prompt, the person's line of the transcript. 'duplicate' when its platform id was seen before.
   */
  private storeMessage(message: NewMessage, transcriptText?: string): number | 'duplicate' {
    const { store } = this.deps;
    return store.db.tx(() => {
      const id = store.messages.insert(message);
      if (id === 'duplicate') return id;
      store.conversations.touch(message.conversation_id, message.received_at);
      if (transcriptText !== undefined) store.transcript.append(message.conversation_id, id, 'user', transcriptText);
      return id;
    });
  }

  private checkAccess(inbound: InboundMessage): ReceiveResult | undefined {
    const policy = accessPolicy(this.deps.config, inbound.address.platform);
    if (policy.open) return undefined;
    const userOk = policy.users.includes(inbound.userId);
    const places = inbound.placeIds ?? [];
    const placeOk = policy.places.length === 0 || places.length === 0 || places.some((p) => policy.places.includes(p));
    if (userOk && placeOk) return undefined;
    const who = `${inbound.address.platform}:${inbound.userId}`;
    // Logged by id only: no names, no message text.
    this.deps.log.info({ platform: inbound.address.platform, userId: inbound.userId, chatId: inbound.address.chatId }, 'message from a user not on the allow-list');
    if (this.refused.has(who)) return { status: 'ignored' };
    this.refused.add(who);
    const key = `${inbound.address.platform}.${userOk ? policy.placesKey ?? 'allowed_places' : policy.usersKey ?? 'allowed_users'}`;
    return {
      status: 'refused',
      text: userOk
        ? `Sorry, I don't answer in this place. (The bot's owner can allow it in ${key}.)`
        : `Sorry, this is a private bot and you are not on its allow-list. (Your user id is ${inbound.userId}; the owner can add it to ${key}.)`,
    };
  }

  /**
   * The answer to a message whose platform id was seen before: a duplicate of the stored message, or,
   * when the request it came in differs from the stored one's, the id reused for something else.
   * A message stored before hashes were kept (no hash) counts as the same request.
   */
  private earlier(inbound: InboundMessage): ReceiveResult | undefined {
    if (!inbound.messageId) return undefined;
    const stored = this.deps.store.messages.byPlatformId(inbound.address.platform, inbound.messageId);
    if (!stored) return undefined;
    const reused = !!inbound.requestSha256 && !!stored.request_sha256 && inbound.requestSha256 !== stored.request_sha256;
    return { status: reused ? 'reused' : 'duplicate', conversationId: stored.conversation_id, messageId: stored.id };
  }

  private problemWith(text: string, inbound: Pick<InboundMessage, 'files' | 'unsupported'>, userKey: string): { code: MessageErrorCode; text: string } | undefined {
    const { config, store } = this.deps;
    if (!text && !inbound.files?.length && inbound.unsupported) {
      return { code: 'unsupported', text: `I can't use ${inbound.unsupported}: send text, a file or a voice note for Claude.` };
    }
    if (!text && !inbound.files?.length) {
      return { code: 'empty', text: 'Your message was empty: send some text (or a file) for Claude.' };
    }
    if (text.length > config.limits.max_message_chars) {
      return {
        code: 'too_long',
        text: `Your message is ${text.length.toLocaleString('en')} characters long; the limit is ${config.limits.max_message_chars.toLocaleString('en')} (limits.max_message_chars). Send the text as a file instead, or split it.`,
      };
    }
    const perMinute = config.limits.messages_per_minute;
    if (perMinute > 0 && store.messages.countByUserSince(userKey, Date.now() - MINUTE) >= perMinute) {
      return { code: 'rate_limited', text: `You have sent ${perMinute} messages in the last minute, the most allowed (limits.messages_per_minute). Please wait a moment and send it again.` };
    }
    const budget = config.limits.budget_usd_per_day;
    if (budget > 0) {
      const spent = store.messages.costByUserSince(userKey, Date.now() - DAY);
      if (spent >= budget) {
        return { code: 'over_budget', text: `Your answers cost ${usd(spent)} in the last 24 hours, reaching the daily budget of ${usd(budget)} (limits.budget_usd_per_day). Please try again later.` };
      }
    }
    return undefined;
  }

  private async answerCommand(message: Message, conversation: Conversation): Promise<void> {
    const { store, config, log } = this.deps;
    let result: CommandResult;
    try {
      result = await runCommand(parseCommand(message.text)!, {
        store, config, conversation, userKey: message.user_key, messageId: message.id,
        enabledEngines: this.deps.enabledEngines, extensions: this.deps.commandExtensions ?? new Map(),
      });
    } catch (err) {
      log.error({ err, command: message.text.split(/\s/)[0] }, 'command failed');
      result = { text: `⚠️ That command failed: ${(err as Error).message}` };
    }
    this.notice(conversation, message.id, result.text, { ephemeral: result.ephemeral, file: result.file });
    for (const event of result.events ?? []) this.deps.bus.publish(event);
  }

  /** Finishes a message with a reply that did not come from the engine. */
  private notice(
    conversation: Conversation, messageId: number, text: string,
    extra: { errorCode?: MessageErrorCode; status?: 'cancelled'; ephemeral?: boolean; file?: { path: string; name: string } },
  ): void {
    const { store } = this.deps;
    const status = extra.status ?? (extra.errorCode ? 'failed' : 'done');
    store.db.tx(() => {
      store.messages.finish(messageId, status, { errorCode: extra.errorCode ?? null, errorMessage: extra.errorCode ? text : null });
      store.transcript.append(conversation.id, messageId, 'notice', text);
      this.outboxNotice(conversation, messageId, text, { ephemeral: extra.ephemeral, file: extra.file });
    });
    // Every message ends with `finished`, whether an engine or the gateway answered it.
    this.deps.bus.publish({
      type: 'finished', conversationId: conversation.id, messageId, status, text,
      costUsd: 0, durationMs: 0, errorCode: extra.errorCode, errorMessage: extra.errorCode ? text : undefined,
    });
    this.deps.bus.publish({ type: 'outbox' } satisfies BusEvent);
  }

  private outboxNotice(conversation: Conversation, messageId: number, text: string, options: ReplyOptions): void {
    const { store, config } = this.deps;
    store.outbox.addReply(conversation.id, messageId, text, Date.now() + config.outbox.deadline_s * 1000, options);
  }

  private async saveFiles(inbound: InboundMessage, conversation: Conversation): Promise<{ saved: SavedFile[]; notes: string[] }> {
    const saved: SavedFile[] = [];
    const notes: string[] = [];
    if (!inbound.files?.length) return { saved, notes };
    const limit = this.deps.maxFileBytes?.(inbound.address.platform) ?? 20 * 1024 * 1024;
    const workspace = workspacePath(this.deps.config.workspace.root, conversationIdOf(inbound.address));
    for (const file of inbound.files) {
      if (file.size !== undefined && file.size > limit) {
        notes.push(`⚠️ ${file.name} is ${mb(file.size)}; files up to ${mb(limit)} are passed to Claude (${inbound.address.platform}.max_file_mb). It was skipped.`);
        continue;
      }
      try {
        const data = await file.download();
        if (data.byteLength > limit) {
          notes.push(`⚠️ ${file.name} is ${mb(data.byteLength)}; files up to ${mb(limit)} are passed to Claude (${inbound.address.platform}.max_file_mb). It was skipped.`);
          continue;
        }
        const { relative, size } = saveUpload(workspace, file.name, data);
        saved.push({ name: file.name, path: relative, size, mime: file.mime, ...(file.kind ? { kind: file.kind } : {}) });
      } catch (err) {
        this.deps.log.warn({ err, conversationId: conversation.id }, 'attachment download failed');
        notes.push(`⚠️ ${file.name} could not be downloaded (${(err as Error).message}). It was skipped.`);
      }
    }
    return { saved, notes };
  }
}

/** A message that starts a turn without a person typing it (see Intake.submit). */
export interface Submission {
  /** A full conversation id: "telegram:123456789", "http:owner:builds". */
  conversationId: string;
  /** The person it runs as, by their id on the conversation's platform. */
  userId: string;
  text: string;
  source: 'schedule' | 'webhook';
  /** Unique per source: the same id twice is stored once. */
  sourceId?: string;
  scheduleId?: number;
  /** A line above a refusal sent to the chat (which schedule it was). */
  heading?: string;
  claim?: () => boolean;
  /** Why it does not run: it is stored as cancelled and the chat told this, under the heading. */
  skipped?: string;
}

/** The address of a full conversation id ("platform:chat[:thread]"). */
export function addressOfConversation(id: string): ChatAddress {
  const [platform, chatId, ...thread] = id.split(':');
  return { platform: platform!, chatId: chatId ?? '', ...(thread.length ? { threadId: thread.join(':') } : {}) };
}

/** What the transcript shows of a message: its text, and the files that came with it. */
function transcriptLine(text: string, files: SavedFile[]): string {
  return [text, ...files.map((f) => `📎 ${f.path}`)].filter(Boolean).join('\n');
}

function usd(amount: number): string {
  return `$${amount >= 0.01 || amount === 0 ? amount.toFixed(2) : amount.toPrecision(2)}`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
