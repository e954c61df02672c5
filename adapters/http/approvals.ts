/**
 * Approvals over HTTP: a script or the web chat answers Claude's requests.
 *
 *   GET  /v1/approvals                                       the pending requests this key's user may answer
 *   POST /v1/conversations/{id}/approvals/{approval_id}      {"decision": "allow" | "allow_always" | "deny", "message"?}
 *                                                            or {"answers": {"<question>": "<answer>"}} for a question
 *                                                            or {"action": "<a card button's id>"} (the web chat)
 *        -> 200 with the request; 409 already decided or expired; 403 not yours to answer; 404 unknown
 *
 * The event streams carry `approval` (a new request) and `approval_update` (an answer recorded, a
 * decision, an expiry) with the request attached as `approval`.
 */
import type { Hono } from 'hono';
import type { GatewayApi } from '../../src/adapter.js';
import type { JobEvent } from '../../src/bus.js';
import type { HttpEnv } from './context.js';
import { apiError, readJson } from './index.js';

export function approvalRoutes(app: Hono<HttpEnv>, api: () => GatewayApi, conversationIdOf: (user: string, id: string) => string | undefined): void {
  app.get('/v1/approvals', (c) => c.json({ data: api().approvals.pendingFor({ platform: 'http', userId: c.get('user') }) }));

  app.post('/v1/conversations/:id/approvals/:approval_id', async (c) => {
    const user = c.get('user');
    const approvalId = Number(c.req.param('approval_id'));
    const known = Number.isInteger(approvalId) ? api().approvals.get(approvalId) : undefined;
    if (!known || known.conversation_id !== conversationIdOf(user, c.req.param('id')) || !api().canRead(c.get('reader'), known.conversation_id)) {
      return c.json(apiError(`No approval request ${c.req.param('approval_id')} in conversation ${c.req.param('id')}.`, 'not_found'), 404);
    }
    const body = await readJson(c);
    if ('error' in body) return c.json(apiError(body.error, body.code), body.status);
    const value = (body.value ?? {}) as Record<string, unknown>;
    const result = api().approvals.decide(approvalId, { platform: 'http', userId: user, name: user }, {
      decision: typeof value.decision === 'string' ? value.decision : undefined,
      message: typeof value.message === 'string' ? value.message : undefined,
      answers: value.answers && typeof value.answers === 'object' ? (value.answers as Record<string, string | string[]>) : undefined,
      action: typeof value.action === 'string' ? value.action : undefined,
    });
    if (result.status === 200) return c.json({ ok: true, message: result.text, approval: result.approval });
    const code = { 403: 'not_your_request', 404: 'not_found', 409: 'already_decided', 422: 'invalid_request' }[result.status];
    return c.json({ ...apiError(result.text, code), approval: result.approval }, result.status);
  });
}

/** A job event as the event streams send it: an approval event carries the request itself. */
export function withApproval(api: GatewayApi, event: JobEvent): JobEvent & { approval?: unknown } {
  if (event.type !== 'approval' && event.type !== 'approval_update') return event;
  return { ...event, approval: api.approvals.get(event.approvalId) };
}
