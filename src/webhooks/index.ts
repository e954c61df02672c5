/**
 * Webhooks in: `[[webhooks]]` entries served at /hooks/<path>. A delivery is checked (GitHub's
 * X-Hub-Signature-256, an HMAC-SHA256 of the raw body, or a bearer token; both compared in constant
 * time), its payload rendered into the entry's template, and the prompt stored as a message of the
 * entry's conversation before the 202 goes back. The delivery id (X-GitHub-Delivery, or an
 * Idempotency-Key header) is the message's platform id, so a redelivery runs once.
 *
 *   401 bad or missing signature/token · 404 unknown path · 413 body over 1 MB · 400 not JSON
 *   202 stored (or a duplicate, or an event the entry does not list: nothing runs)
 */
import crypto from 'node:crypto';
import type http from 'node:http';
import type { Intake } from '../accept.js';
import type { WebhookConfig } from '../config/schema.js';
import type { NodeHandler } from '../http-server.js';
import type { Logger } from '../log.js';
import { addressOfConversation } from '../accept.js';

export const HOOKS_PATH = '/hooks';
export const MAX_BODY_BYTES = 1024 * 1024;

export interface WebhookDeps {
  hooks: WebhookConfig[];
  intake: Intake;
  log: Logger;
}

export function webhookHandler(deps: WebhookDeps): NodeHandler {
  const byPath = new Map(deps.hooks.map((h) => [h.path, h]));
  return (req, res) => {
    void handle(deps, byPath, req, res).catch((err) => {
      deps.log.error({ err }, 'webhook failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
    });
  };
}

async function handle(deps: WebhookDeps, byPath: Map<string, WebhookConfig>, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const name = (req.url ?? '').split('?')[0]!.slice(HOOKS_PATH.length + 1);
  const hook = byPath.get(name);
  if (!hook) return send(res, 404, { error: 'no such webhook' });
  if (req.method !== 'POST') return send(res, 405, { error: 'POST only' });
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge(req, res);
  const body = await readBody(req);
  if (body === 'too large') return tooLarge(req, res);
  if (!authentic(hook, req, body)) {
    deps.log.warn({ path: hook.path }, 'webhook delivery with a bad signature or token refused');
    return send(res, 401, { error: 'bad signature' });
  }
  const event = header(req, 'x-github-event');
  if (hook.kind === 'github' && hook.events.length && !hook.events.includes(event ?? '')) {
    return send(res, 202, { status: 'ignored', reason: `event "${event ?? ''}" is not in this webhook's events` });
  }
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return send(res, 400, { error: 'the body is not JSON' });
  }
  const deliveryId = header(req, hook.kind === 'github' ? 'x-github-delivery' : 'idempotency-key');
  const result = deps.intake.submit({
    conversationId: hook.conversation,
    userId: hook.user ?? addressOfConversation(hook.conversation).chatId,
    text: render(hook.template, payload),
    source: 'webhook',
    // Unique across hooks: two senders may use the same ids.
    sourceId: deliveryId ? `${hook.path}:${deliveryId}` : undefined,
  });
  if (result.status === 'refused') {
    deps.log.warn({ path: hook.path, reason: result.text }, 'webhook cannot run: its user is not allowed in its conversation');
    return send(res, 403, { error: 'the webhook\'s user is not on the allow-list of its conversation' });
  }
  if (result.status === 'taken') return send(res, 202, { status: 'duplicate' });
  send(res, 202, { status: result.status, messageId: result.messageId });
}

function authentic(hook: WebhookConfig, req: http.IncomingMessage, body: Buffer): boolean {
  if (hook.kind === 'github') {
    const signature = header(req, 'x-hub-signature-256') ?? '';
    const expected = 'sha256=' + crypto.createHmac('sha256', hook.secret).update(body).digest('hex');
    return sameText(signature, expected);
  }
  const token = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1] ?? '';
  return sameText(token, hook.secret);
}

/** Constant-time equality, also when the lengths differ (both sides are hashed to one length first). */
function sameText(a: string, b: string): boolean {
  const digest = (s: string) => crypto.createHash('sha256').update(s).digest();
  return crypto.timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

/** "New issue {{issue.title}}": fields of the payload by dotted path; a missing one renders empty. */
export function render(template: string, payload: unknown): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_m, path: string) => {
    let node: unknown = payload;
    for (const key of path.split('.')) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    if (node === undefined || node === null) return '';
    return typeof node === 'object' ? JSON.stringify(node) : String(node);
  });
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function readBody(req: http.IncomingMessage): Promise<Buffer | 'too large'> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too large';
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function tooLarge(req: http.IncomingMessage, res: http.ServerResponse): void {
  send(res, 413, { error: `the body is over ${MAX_BODY_BYTES} bytes` });
  req.resume();
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
