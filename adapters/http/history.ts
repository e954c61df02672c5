/**
 * What happened in the conversations a key may read (the web chat's activity timeline and search):
 *
 *   GET /v1/conversations/{id}/activity   each answer's tool calls: [{message_id, tool, summary, result, is_error, started_at, duration_ms}]
 *   GET /v1/search?q=<words>              transcript lines with every word, best first: [{conversation_id, message_id, role, snippet, created_at}]
 *
 * Another's conversation answers 404 like a missing one, and search never looks into it.
 */
import type { Hono } from 'hono';
import type { GatewayApi } from '../../src/adapter.js';
import type { HttpEnv } from './context.js';
import { apiError } from './index.js';

export function historyRoutes(app: Hono<HttpEnv>, api: () => GatewayApi, fullId: (user: string, id: string) => string | undefined): void {
  app.get('/v1/conversations/:id/activity', (c) => {
    const id = fullId(c.get('user'), c.req.param('id'));
    if (!id || !api().canRead(c.get('reader'), id)) return c.json(apiError(`No conversation ${c.req.param('id')}.`, 'not_found'), 404);
    const data = api().activity(id).map((row) => ({
      message_id: row.message_id, tool_use_id: row.tool_use_id, tool: row.tool, summary: row.summary, result: row.result,
      is_error: row.is_error === 1, started_at: row.started_at, duration_ms: row.finished_at === null ? null : row.finished_at - row.started_at,
    }));
    return c.json({ data });
  });

  app.get('/v1/search', (c) => {
    const q = (c.req.query('q') ?? '').trim();
    if (!q) return c.json(apiError('Say what to look for: /v1/search?q=<words>.', 'invalid_request'), 400);
    const limit = Math.min(200, Math.max(1, Number(c.req.query('limit') ?? 50) || 50));
    return c.json({ data: api().search(c.get('reader'), q, limit) });
  });
}
