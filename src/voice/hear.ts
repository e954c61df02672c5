/**
 * The worker's step before a turn: each voice note or audio file of the message is transcribed, and
 * the chat is shown what was heard ("heard: ...") before the answer, so a wrong hearing is caught.
 */
import path from 'node:path';
import type { Bus } from '../bus.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { SavedFile } from '../message.js';
import type { Conversation, Message } from '../store/db.js';
import type { Store } from '../store/index.js';
import { NOTE_SEQ } from '../store/outbox.js';
import { workspacePath } from '../workspace.js';
import { isAudio, type Voice } from './index.js';

/** What was heard in one of the message's files. */
export interface Transcript {
  /** The saved file, relative to the workspace. */
  path: string;
  text: string;
}

/** The outbox row of the "heard: ..." note: before the answer's notes (NOTE_SEQ and its split chunks). */
export const HEARD_SEQ = NOTE_SEQ - 1000;

export interface HearDeps {
  store: Store;
  bus: Bus;
  config: Config;
  log: Logger;
  voice: Voice;
}

export async function hearVoiceNotes(
  message: Message, conversation: Conversation, deps: HearDeps,
): Promise<{ ok: true; transcripts: Transcript[] } | { ok: false; text: string }> {
  const files = (message.attachments ? (JSON.parse(message.attachments) as SavedFile[]) : []).filter(isAudio);
  if (!files.length) return { ok: true, transcripts: [] };
  const { store, bus, config, log, voice } = deps;
  const ref = { conversationId: conversation.id, messageId: message.id };
  const workspace = workspacePath(config.workspace.root, conversation.id);
  const transcripts: Transcript[] = [];
  for (const file of files) {
    const heard = await voice.transcribe({ name: file.name, path: path.join(workspace, file.path), size: file.size, mime: file.mime });
    if (!heard.ok) return heard;
    log.info({ ...ref, seconds: Math.round(heard.seconds), decodeMs: Math.round(heard.decodeMs), transcribeMs: Math.round(heard.transcribeMs) }, 'voice note heard');
    transcripts.push({ path: file.path, text: heard.text });
  }
  const note = transcripts.map((t) => `heard: ${t.text}`).join('\n');
  store.db.tx(() => {
    store.transcript.append(conversation.id, message.id, 'notice', note);
    store.outbox.addReply(conversation.id, message.id, note, Date.now() + config.outbox.deadline_s * 1000, { seq: HEARD_SEQ });
  });
  bus.publish({ type: 'heard', ...ref, text: transcripts.map((t) => t.text).join('\n') });
  bus.publish({ type: 'outbox' });
  return { ok: true, transcripts };
}
