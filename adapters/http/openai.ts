/**
 * `POST /v1/chat/completions`, as OpenAI clients expect it (the `openai` npm package, Open WebUI,
 * n8n), streaming or not. The conversation comes from the `X-Conversation-Id` header or the `user`
 * field; only the last user message is sent, since the Claude session holds the history.
 * OpenAI clients cannot show approval buttons: a request Claude makes during such a turn is denied at
 * once, with a reason telling Claude to say in its answer what it wanted to run (see `canAsk`).
 */
import crypto from 'node:crypto';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { HttpEnv } from './context.js';
import { idempotentRequest, replayHeaders } from './idempotency.js';
import type { HttpAdapter } from './index.js';
import { apiError, readJson } from './index.js';
import type { Usage } from '../../src/engine/types.js';

const MODEL = 'claude';

export function listModels() {
  return { object: 'list', data: [{ id: MODEL, object: 'model', created: 0, owned_by: 'cligate' }] };
}

export async function chatCompletions(c: Context<HttpEnv>, adapter: HttpAdapter): Promise<Response> {
  const body = await readJson(c);
  if ('error' in body) return c.json(apiError(body.error, body.code), body.status);
  const request = body.value as { model?: unknown; messages?: unknown; stream?: unknown; user?: unknown };
  const prompt = lastUserText(request.messages);
  if (prompt === undefined) return c.json(apiError('"messages" must hold at least one message with role "user" and text content.', 'invalid_request'), 400);
  const conversation = c.req.header('x-conversation-id') ?? (typeof request.user === 'string' && request.user ? request.user : 'default');
  const model = typeof request.model === 'string' && request.model ? request.model : MODEL;
  const id = `chatcmpl-${crypto.randomBytes(12).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const user = c.get('user');
  const idempotency = idempotentRequest(c, user, conversation, body.bytes);
  if (idempotency && 'error' in idempotency) return c.json(apiError(idempotency.error, idempotency.code), 400);

  if (request.stream !== true) {
    const answer = await adapter.send(user, conversation, prompt, { idempotency, canAsk: false });
    if ('error' in answer) return c.json(apiError(answer.error, answer.code ?? 'invalid_request'), answer.status ?? 400);
    const replayed = replayHeaders(answer);
    if (answer.status === 'failed') {
      const status = answer.error_code === 'rate_limited' ? 429 : answer.error_code === 'overloaded' ? 503 : 502;
      return c.json(apiError(answer.error_message ?? answer.text, answer.error_code ?? 'engine_error'), status, replayed);
    }
    return c.json({
      id, object: 'chat.completion', created, model,
      choices: [{ index: 0, message: { role: 'assistant', content: answer.text }, finish_reason: 'stop', logprobs: null }],
      usage: usageOf(answer.usage),
      system_fingerprint: null,
    }, 200, { 'x-conversation-id': answer.conversation_id, ...replayed });
  }

  c.header('x-conversation-id', `http:${user}:${conversation}`);
  return streamSSE(c, async (stream) => {
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
      stream.writeSSE({ data: JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }], ...extra }) });
    await chunk({ role: 'assistant', content: '' }, null);
    let streamed = '';
    let writing = Promise.resolve();
    const answer = await adapter.send(user, conversation, prompt, {
      idempotency,
      canAsk: false,
      onEvent: ({ event }) => {
        if (event.type === 'started') streamed = '';
        if (event.type !== 'text') return;
        streamed += event.text;
        writing = writing.then(() => chunk({ content: event.text }, null));
      },
    });
    await writing;
    if ('error' in answer) {
      await chunk({ content: answer.error }, 'stop');
    } else {
      // The final text can differ from what streamed (text written before a tool call is not the answer):
      // send what is missing, or the whole answer if it does not continue the stream.
      const rest = answer.text.startsWith(streamed) ? answer.text.slice(streamed.length) : `\n\n${answer.text}`;
      if (rest) await chunk({ content: rest }, null);
      await chunk({}, 'stop', { usage: usageOf(answer.usage) });
    }
    await stream.writeSSE({ data: '[DONE]' });
  });
}

function lastUserText(messages: unknown): string | undefined {
  if (!Array.isArray(messages)) return undefined;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown; content?: unknown };
    if (m?.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) {
      const text = m.content.filter((p: any) => p?.type === 'text' && typeof p.text === 'string').map((p: any) => p.text).join('\n');
      return text || undefined;
    }
    return undefined;
  }
  return undefined;
}

function usageOf(usage?: Usage) {
  const prompt = usage?.inputTokens ?? 0;
  const completion = usage?.outputTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
