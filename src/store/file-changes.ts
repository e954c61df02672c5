/** The files each answer changed (see workspace-changes.ts), kept to show under the answer. */
import type { FileChange } from '../workspace-changes.js';
import { Statement, type Db } from './db.js';

export class FileChanges {
  constructor(private readonly db: Db) {}

  /** Records a turn's changes; a retried message replaces what its earlier attempt recorded. */
  record(conversationId: string, messageId: number, changes: FileChange[], now = Date.now()): void {
    this.db.tx(() => {
      this.db.run(forgetChanges.with({ messageId }));
      for (const c of changes) {
        this.db.run(this.db.q.insertInto('file_changes').values({
          conversation_id: conversationId, message_id: messageId, path: c.path, change: c.change, diff: c.diff, note: c.note ?? null, created_at: now,
        }));
      }
    });
  }

  /** One message's changes, with diffs. */
  ofMessage(conversationId: string, messageId: number): FileChange[] {
    return this.db.all(
      this.db.q.selectFrom('file_changes').select(['path', 'change', 'diff', 'note'])
        .where('conversation_id', '=', conversationId).where('message_id', '=', messageId).orderBy('path'),
    ).map((r) => ({ path: r.path, change: r.change, diff: r.diff, ...(r.note ? { note: r.note } : {}) }));
  }

  /** Which files each message of a conversation changed, without diffs (the web chat's "N files changed"). */
  summary(conversationId: string): { message_id: number; path: string; change: FileChange['change'] }[] {
    return this.db.all(
      this.db.q.selectFrom('file_changes').select(['message_id', 'path', 'change'])
        .where('conversation_id', '=', conversationId).orderBy('message_id').orderBy('path'),
    );
  }
}

const forgetChanges = new Statement((q, a: { messageId: number }) => q.deleteFrom('file_changes').where('message_id', '=', a.messageId));
