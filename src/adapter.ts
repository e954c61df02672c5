/**
 * The one narrow interface between cligate's core and a chat platform. An adapter turns platform
 * messages into `InboundMessage`s for `host.receive`, and posts and edits the answers it is handed.
 * Everything platform-specific (ids, markup, limits, rate rules) stays inside its folder.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { ApiDecision, ApprovalView } from './approvals/index.js';
import type { JobEvent } from './bus.js';
import type { Logger } from './log.js';
import type { ChatAddress, InboundMessage, Platform, ReplyContext } from './message.js';
import type { ActivityRow, Conversation, Schedule, Session, TranscriptRow } from './store/db.js';
import type { SearchHit } from './store/transcript.js';

export type { ReplyContext };
import type { ConversationSummary } from './store/conversations.js';
import type { MessageOutcome } from './store/messages.js';
import type { FileChange } from './workspace-changes.js';
import type { TabInfo, Terminals } from './terminal/index.js';

/** Where an answer goes. */
export interface ReplyTarget<C extends ReplyContext = ReplyContext> {
  address: ChatAddress;
  /** The platform's id of the message being answered, to reply or thread under it. */
  replyTo?: string;
  /** What the adapter stored with the inbound message (`InboundMessage.replyContext`). */
  context?: C;
}

export interface ReplyText {
  /** Claude's Markdown; the adapter converts it to its platform's markup. */
  markdown: string;
  /** An intermediate version of a streaming answer (already repaired to be displayable). */
  partial: boolean;
  /** A tool-activity status line to show under the text while it is being written. */
  status?: string;
  /** Show only to the person who asked, where the platform can (slash command answers). */
  ephemeral?: boolean;
  /** Buttons under the message (a running answer's Stop), where the platform has buttons. */
  actions?: CardAction[];
}

/** The id of a running answer's Stop button (the same as /stop from the clicker). */
export const STOP_ACTION = 'stop';

/** A button. Its `id` comes back unchanged in the click (`host.act`). */
export interface CardAction {
  id: string;
  label: string;
  style?: 'primary' | 'danger';
}

/**
 * A message with buttons (an approval request, Claude's question, a plan), described once and drawn
 * natively by each adapter: inline keyboard, Block Kit, components, HTML buttons. An adapter without
 * `postCard` gets the card as text with numbered choices, and a reply with the number is the click.
 */
export interface Card {
  /** Markdown, like any answer. */
  markdown: string;
  /** Rows of buttons; empty once the card is resolved (its text then says who decided what). */
  actions: CardAction[][];
  /** The whole input, for platforms that can show it one tap away. */
  detail?: string;
  /** The text leaves part of the input out (a long command, a big diff): worth a "Show all". */
  shortened?: boolean;
}

/** A button click, with the clicker as the platform verified it (never taken from the button's data). */
export interface InboundAction {
  address: ChatAddress;
  userId: string;
  /** How to name the clicker on the card ("Allowed once by ..."). */
  userName?: string;
  actionId: string;
  /** The platform's id of the message that carried the button. */
  messageRef?: string;
}

/** What the clicker is told, only them where the platform can (toast, ephemeral message). */
export interface ActionResult {
  ok: boolean;
  text: string;
}

export interface AdapterCaps {
  /** Largest message, in characters of Markdown, after which the answer is split. */
  maxChars: number;
  /** Smallest pause between two edits of one message. */
  editIntervalMs: number;
  /** How often a typing indicator must be renewed; 0: the platform has none. */
  typingIntervalMs: number;
  /** The output can only grow (a terminal): drafts get the raw text, every delta, never cut or repaired. */
  appendOnly?: boolean;
  /** The platform draws buttons (ReplyText.actions, cards). */
  buttons?: boolean;
}

/**
 * A failed delivery, as the outbox needs to know it: retry later (and when), or give up.
 * Adapters throw this from `post`/`edit`; anything else thrown counts as retryable.
 */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** What became of an inbound message. Stored ones (`messageId`) end with a `finished` event and a reply. */
export type ReceiveResult =
  /** Stored and queued for the engine. */
  | { status: 'accepted'; conversationId: string; messageId: number }
  /** Stored and answered by the gateway (a command, a message over a limit). */
  | { status: 'handled'; conversationId: string; messageId: number }
  /** It answered a pending request of Claude's (a reply to its card, a choice's number): nothing stored. */
  | { status: 'answered'; conversationId: string; text: string }
  /** Seen before: `messageId` is the message stored then. */
  | { status: 'duplicate'; conversationId?: string; messageId?: number }
  /** The id was seen before with another request (see `InboundMessage.requestSha256`). */
  | { status: 'reused'; conversationId?: string; messageId?: number }
  /** Not let through (a stranger, a bad answer to a request): the adapter shows `text`; nothing reaches the CLI. */
  | { status: 'refused'; text: string; conversationId?: string }
  /** Not for us. */
  | { status: 'ignored' };

export interface ReceiveOptions {
  /**
   * Called once, the moment the message is committed to the inbox, before a command runs: the time
   * to acknowledge the platform, so a command that takes a while (/memory waits for its model) does
   * not miss a 3 s deadline. Not called for refusals and duplicates. Must not throw.
   */
  onStored?: () => void;
}

/** What the core offers an adapter. */
export interface AdapterHost<C extends ReplyContext = ReplyContext> {
  receive(message: InboundMessage<C>, options?: ReceiveOptions): Promise<ReceiveResult>;
  /** A button was clicked (approve, deny, an answer, Stop). */
  act(action: InboundAction): Promise<ActionResult>;
  /** Mount an HTTP handler (webhooks) on the gateway's HTTP server under `path`. */
  mount(path: string, handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): void;
  /** Mount a handler for upgrade requests (WebSockets: the web app's terminals) under `path`. */
  mountUpgrade(path: string, handler: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void): void;
  /** A file inside a conversation's workspace, or an error text if the path would leave it. */
  workspaceFile(address: ChatAddress, relativePath: string): { path: string } | { error: string };
  log: Logger;
}

export interface ConversationDetail {
  conversation: Conversation;
  session?: Session;
  sessions: Session[];
  transcript: TranscriptRow[];
  /** Its schedules still alive (active or paused). */
  schedules: Schedule[];
  /** The webhooks that start turns in it (their secrets left out). */
  webhooks: { path: string; kind: 'github' | 'bearer'; events: string[] }[];
  /** Its terminal tabs open now (src/terminal), listed with its sessions. */
  terminals: TabInfo[];
}

export interface HealthReport {
  ok: boolean;
  checks: Record<string, { ok: boolean; message: string }>;
}

/**
 * Who reads through the API. An admin sees every conversation; anyone else sees their own chats on
 * their platform and the conversations they (as a person under `[people]`) wrote in.
 */
export type Reader = { admin: true } | { admin: false; platform: Platform; userId: string };

/** Reading and watching the gateway: what the HTTP API and its web chat serve (see `serveApi`). */
export interface GatewayApi {
  conversations(reader: Reader, limit?: number): ConversationSummary[];
  /** Undefined when there is no such conversation, or the reader may not see it. */
  conversation(reader: Reader, id: string): ConversationDetail | undefined;
  canRead(reader: Reader, conversationId: string): boolean;
  /** Where a message stands, and its outcome once finished: what a retried request is answered with. */
  outcomeOf(messageId: number): MessageOutcome | undefined;
  health(): Promise<HealthReport>;
  /** Prometheus text exposition. */
  metrics(): Promise<string>;
  /** Approval requests: the pending ones a person may answer, one by id, and deciding one. */
  approvals: {
    pendingFor(by: { platform: Platform; userId: string }): ApprovalView[];
    get(approvalId: number): ApprovalView | undefined;
    decide(approvalId: number, by: { platform: Platform; userId: string; name?: string }, decision: ApiDecision): { status: 200 | 403 | 404 | 409 | 422; text: string; approval?: ApprovalView };
  };
  /** Web terminal tabs (src/terminal); absent in a process without adapters. */
  terminals?: Terminals;
  /** A conversation's workspace folder (it may not exist yet). The caller checks who may see it. */
  workspaceOf(conversationId: string): string;
  /** The files each answer changed: one message's with diffs, or a conversation's list without them. */
  fileChanges: {
    ofMessage(conversationId: string, messageId: number): FileChange[];
    summary(conversationId: string): { message_id: number; path: string; change: FileChange['change'] }[];
  };
  /** A conversation's tool calls, oldest first (the caller checks who may see it). */
  activity(conversationId: string): ActivityRow[];
  /** Transcript lines matching `text`, in the conversations the reader may see, best first. */
  search(reader: Reader, text: string, limit?: number): SearchHit[];
  /** API keys cligate made itself (hashed); keys from the config are the HTTP adapter's own business. */
  storedKeys(): { sha256: string; user: string }[];
  storeKey(sha256: string, user: string): void;
}

interface AdapterBase<C extends ReplyContext> {
  readonly platform: Platform;
  start(host: AdapterHost<C>): Promise<void>;
  /** Stop taking messages; sending may still be needed until the gateway closes. */
  stop(): Promise<void>;
  /** Adapters that serve the gateway's own API (HTTP) read and watch the gateway through this; called before `start`. */
  serveApi?(api: GatewayApi): void;
}

/**
 * An adapter that shows answers as chat messages: a draft edited as the answer grows, replaced by the
 * final answer cut to the platform's size, and cards with buttons. `C` is what it keeps with an
 * inbound message to answer it (its `ReplyTarget.context`).
 */
export interface ChatAdapter<C extends ReplyContext = ReplyContext> extends AdapterBase<C> {
  readonly caps: AdapterCaps;
  /**
   * The platform allows one connection per bot (Telegram's long polling, Discord's gateway): with
   * several gateways, only the one serving the platform starts this adapter (src/platform-leases.ts).
   * Otherwise every gateway starts it and takes what reaches it; one of them delivers the replies.
   */
  readonly exclusiveConnection?: boolean;
  /** Posts a new message and returns the platform's id of it. */
  post(target: ReplyTarget<C>, reply: ReplyText): Promise<string>;
  edit(target: ReplyTarget<C>, ref: string, reply: ReplyText): Promise<void>;
  /** Removes a message the answer no longer needs (a draft). Optional. */
  remove?(target: ReplyTarget<C>, ref: string): Promise<void>;
  /** Shows that an answer is being written. */
  typing?(target: ReplyTarget<C>): Promise<void>;
  /** Sends a file from the workspace (for /file). */
  sendFile?(target: ReplyTarget<C>, file: { path: string; name: string }): Promise<void>;
  /** Posts a card with buttons; returns the platform's id of it. Without it, cards go out as text. */
  postCard?(target: ReplyTarget<C>, card: Card): Promise<string>;
  /** Redraws a card (an answer recorded, or resolved: no buttons). */
  editCard?(target: ReplyTarget<C>, ref: string, card: Card): Promise<void>;
}

/**
 * An adapter whose clients follow answers as a stream of events (the HTTP API's server-sent events)
 * rather than as messages to post and edit.
 */
export interface StreamAdapter<C extends ReplyContext = ReplyContext> extends AdapterBase<C> {
  /**
   * Every job event of every conversation, in order (a stream adapter may show other channels' too,
   * as a dashboard): progress, approval requests, and for each message last `finished`, which carries
   * its answer (a command's too).
   */
  follow(event: JobEvent): void;
}

export type Adapter<C extends ReplyContext = ReplyContext> = ChatAdapter<C> | StreamAdapter<C>;

export function isStreamAdapter(adapter: Adapter): adapter is StreamAdapter {
  return 'follow' in adapter;
}
