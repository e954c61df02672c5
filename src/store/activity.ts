/** Each answer's tool calls, as they start and end: the web app's activity timeline. */
import type { ActivityRow, Db } from './db.js';

export interface ToolStart {
  conversationId: string;
  messageId: number;
  toolUseId: string;
  tool: string;
  summary: string;
}

export class Activity {
  constructor(private readonly db: Db) {}

  started(call: ToolStart, now = Date.now()): void {
    this.db.run(this.db.q.insertInto('activity').values({
      conversation_id: call.conversationId, message_id: call.messageId, tool_use_id: call.toolUseId, tool: call.tool,
      summary: call.summary, result: null, is_error: 0, started_at: now, finished_at: null,
    }));
  }

  /** Records how a call ended; returns how long it took, if its start was seen. */
  finished(messageId: number, toolUseId: string, result: { isError: boolean; summary?: string }, now = Date.now()): number | undefined {
    const row = this.db.first(
      this.db.q.selectFrom('activity').select(['id', 'started_at']).where('message_id', '=', messageId).where('tool_use_id', '=', toolUseId)
        .where('finished_at', 'is', null).orderBy('id', 'desc').limit(1),
    );
    if (!row) return undefined;
    this.db.run(this.db.q.updateTable('activity').set({ finished_at: now, is_error: result.isError ? 1 : 0, result: result.summary ?? null }).where('id', '=', row.id));
    return now - row.started_at;
  }

  /** A conversation's tool calls, oldest first. */
  list(conversationId: string, limit = 2000): ActivityRow[] {
    return this.db.all(this.db.q.selectFrom('activity').selectAll().where('conversation_id', '=', conversationId).orderBy('id').limit(limit));
  }
}
