/**
 * Loopback stand-ins for the APIs the other engines call, enough for the real CLIs:
 * - OpenAiFake: the Responses API (POST /v1/responses, SSE), reached by `codex` through a custom
 *   model provider (codex ignores OPENAI_BASE_URL);
 * - GeminiFake: the Gemini API (POST /v1beta/models/<model>:streamGenerateContent?alt=sse), reached
 *   by `gemini` through GOOGLE_GEMINI_BASE_URL.
 * Both echo the prompt ("echo: <prompt>"), stream it in pieces, and answer an error status when the
 * prompt contains [[status NNN]].
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  url: string;
  body: any;
  prompt: string;
  /** Every user text in the request, oldest first (the history a resumed session re-sends). */
  history: string[];
}

abstract class JsonServer {
  readonly requests: SeenRequest[] = [];
  url = '';
  private server?: http.Server;

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        let body: any = {};
        try {
          body = JSON.parse(raw || '{}');
        } catch {
          /* empty */
        }
        this.handle(req, res, body);
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  prompts(): string[] {
    return this.requests.map((r) => r.prompt);
  }

  protected abstract handle(req: http.IncomingMessage, res: http.ServerResponse, body: any): void;

  protected status(prompt: string): number | undefined {
    const m = /\[\[status (\d+)\]\]/.exec(prompt);
    return m ? Number(m[1]) : undefined;
  }
}

export class OpenAiFake extends JsonServer {
  /** Arguments for `codex exec` so it talks to this fake. */
  codexArgs(): string[] {
    return ['-c', 'model_provider=fake', '-c', `model_providers.fake={name="fake",base_url="${this.url}/v1",env_key="OPENAI_API_KEY",wire_api="responses"}`];
  }

  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: any): void {
    if (req.method !== 'POST' || !req.url?.endsWith('/responses')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not here', type: 'not_found' } }));
      return;
    }
    const history: string[] = [];
    for (const item of body.input ?? []) {
      if (item.role !== 'user') continue;
      for (const c of item.content ?? []) if (c.type === 'input_text' && !String(c.text).startsWith('<')) history.push(c.text);
    }
    const prompt = history.at(-1) ?? '';
    this.requests.push({ url: req.url, body, prompt, history });
    const status = this.status(prompt);
    if (status) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `fake error ${status}`, type: status === 429 ? 'rate_limit_exceeded' : 'server_error', code: status === 429 ? 'rate_limit_exceeded' : null } }));
      return;
    }
    const text = `echo: ${prompt}`;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (o: any) => res.write(`event: ${o.type}\ndata: ${JSON.stringify(o)}\n\n`);
    const id = `resp_${this.requests.length}`;
    const itemId = `msg_${this.requests.length}`;
    const item = { id: itemId, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
    send({ type: 'response.created', response: { id, object: 'response', status: 'in_progress', output: [] } });
    send({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
    for (let i = 0; i < text.length; i += 8) {
      send({ type: 'response.output_text.delta', item_id: itemId, output_index: 0, content_index: 0, delta: text.slice(i, i + 8) });
    }
    send({ type: 'response.output_item.done', output_index: 0, item });
    send({ type: 'response.completed', response: { id, object: 'response', status: 'completed', output: [item], usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 19 } } });
    res.end();
  }
}

export class GeminiFake extends JsonServer {
  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: any): void {
    const history: string[] = [];
    for (const c of body.contents ?? []) {
      if (c.role !== 'user') continue;
      for (const p of c.parts ?? []) if (typeof p.text === 'string') history.push(p.text);
    }
    const prompt = history.at(-1) ?? '';
    const reply = (text: string) => ({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0 }],
      usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 5, totalTokenCount: 15 },
      modelVersion: 'gemini-fake',
    });
    if (req.url?.includes(':countTokens')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ totalTokens: 10 }));
      return;
    }
    if (!req.url?.includes(':streamGenerateContent') && !req.url?.includes(':generateContent')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 404, message: 'not here', status: 'NOT_FOUND' } }));
      return;
    }
    this.requests.push({ url: req.url, body, prompt, history });
    const status = this.status(prompt);
    if (status) {
      const name = status === 429 ? 'RESOURCE_EXHAUSTED' : status === 401 || status === 403 ? 'PERMISSION_DENIED' : 'INTERNAL';
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: status, message: `fake ${name}`, status: name } }));
      return;
    }
    const text = `echo: ${prompt}`;
    if (req.url.includes(':generateContent')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...reply(text), candidates: [{ ...reply(text).candidates[0], finishReason: 'STOP' }] }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const pieces = text.match(/.{1,8}/gs) ?? [''];
    pieces.forEach((piece, i) => {
      const chunk = reply(piece);
      if (i === pieces.length - 1) (chunk.candidates[0] as any).finishReason = 'STOP';
      res.write(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
    });
    res.end();
  }
}
