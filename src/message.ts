/**
 * The normalized inbound message: what every adapter turns its platform's message into. This is
 * where the flow starts: message -> accept (src/accept.ts) -> queue -> worker -> engine -> outbox -> adapter.
 */

/**
 * A platform's name, as registered in adapters/index.ts: its config section and its conversations'
 * id prefix. A string, not a closed union, because the core does not know the platforms by name;
 * the config's `PlatformName` is the registered set.
 */
export type Platform = string;

/** Where a conversation lives on its platform. A thread (Telegram topic, Slack thread, Discord thread) is its own conversation. */
export interface ChatAddress {
  platform: Platform;
  chatId: string;
  threadId?: string;
}

/** A file the person sent, fetched only once the message is accepted. */
export interface InboundFile {
  name: string;
  /** Size in bytes, when the platform says it before download. */
  size?: number;
  mime?: string;
  /** Set by the adapter when the platform says what it is: a voice note, or an audio file (both are transcribed, src/voice/). */
  kind?: FileKind;
  download(): Promise<Uint8Array>;
}

export type FileKind = 'voice' | 'audio';

/**
 * What an adapter keeps with an inbound message to answer it later (a reply-to id, an interaction
 * token). Stored as JSON and handed back unread by the core: each adapter names its own shape.
 */
export type ReplyContext = { readonly [key: string]: string | number | boolean | undefined };

export interface InboundMessage<C extends ReplyContext = ReplyContext> {
  address: ChatAddress;
  /** The person, as the platform identifies them. */
  userId: string;
  userName?: string;
  /** Ids the allow-list can match besides the user: chat, channel, guild... */
  placeIds?: string[];
  /** The platform's id of this message; the same id twice is processed once. */
  messageId?: string;
  /**
   * A hash of the request that carried the message (HTTP: method, conversation and body). With the
   * same `messageId`, the same hash is a retry and a different one is the id reused for another message.
   */
  requestSha256?: string;
  text: string;
  files?: InboundFile[];
  /**
   * What the person sent that the adapter cannot pass on ("a sticker", "a poll", "a location"): with
   * no text and no file, the message is answered with a reply that says so, never dropped in silence.
   */
  unsupported?: string;
  /** False where the client cannot show approval requests (the OpenAI-compatible API): Claude's requests are denied with a reason. */
  canAsk?: boolean;
  /** The platform's id of the message this one replies to (a reply to an approval request answers it). */
  replyToRef?: string;
  /** What the adapter needs later to answer this message. */
  replyContext?: C;
}

/** A conversation's id: `platform:chat[:thread]`. */
export function conversationIdOf(address: ChatAddress): string {
  return [address.platform, address.chatId, ...(address.threadId ? [address.threadId] : [])].join(':');
}

/** The platform of a conversation, from its id. */
export function platformOf(conversationId: string): Platform {
  return conversationId.slice(0, conversationId.indexOf(':'));
}

/** A file saved in the conversation's workspace. */
export interface SavedFile {
  name: string;
  /** Relative to the workspace. */
  path: string;
  size: number;
  mime?: string;
  kind?: FileKind;
}
