/**
 * Loopback stand-ins for the APIs the other engines call, enough for the real CLIs:
 * - OpenAiFake: the Responses API (POST /v1/responses, SSE), reached by `codex` through a custom
 *   model provider (codex ignores OPENAI_BASE_URL);
 * - GeminiFake: the Gemini API (POST /v1beta/models/<model>:streamGenerateContent?alt=sse), reached
 *   by `gemini` through GOOGLE_GEMINI_BASE_URL.
 * Both echo the prompt ("echo: <prompt>"), stream it in pieces, and answer an error status when the
 * prompt contains [[status NNN]].
 *
 * Shell commands: when the prompt contains `[[run <command>]]` (up to the last "]]" of the prompt, so
 * the command may hold "]]" itself), the fake answers with a call of the CLI's own shell tool, as the
 * CLI declared it in the request's `tools`:
 * - codex 0.169: a Responses API `function_call` of `exec_command` with `{"cmd": <command>}` (an older
 *   codex's `shell` tool gets `{"command": ["bash", "-lc", <command>]}`); the CLI runs it and sends
 *   the next request with a `function_call_output` as its last input item;
 * - gemini 0.61: a `functionCall` part of `run_shell_command` with `{"command": <command>}`; the CLI
 *   runs it and sends the next request with a `functionResponse` part as its last content.
 * That follow-up is answered with the text "tool said: <the tool's output, as the CLI reported it>",
 * so a test reads the command's output from the reply (codex puts a few header lines before it,
 * gemini wraps it in <untrusted_context>). A CLI only runs the tool unasked when told to: codex with
 * `--dangerously-bypass-approvals-and-sandbox`, gemini with `--approval-mode yolo`. If the CLI offers
 * no such tool, the answer says so ("no shell tool offered: <names>").
 * Set ENGINE_FAKES_LOG=<file> to append every request body to that file (one JSON a line), to see
 * what a new CLI version sends.
 */
import fs from 'node:fs';
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
        if (process.env.ENGINE_FAKES_LOG) fs.appendFileSync(process.env.ENGINE_FAKES_LOG, JSON.stringify({ url: req.url, body }) + '\n');
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

  /** The command of a `[[run <command>]]` marker in `prompt`. */
  protected command(prompt: string): string | undefined {
    return /\[\[run ([\s\S]+)\]\]/.exec(prompt)?.[1];
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
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const send = (o: any) => res.write(`event: ${o.type}\ndata: ${JSON.stringify(o)}\n\n`);
    const id = `resp_${this.requests.length}`;
    send({ type: 'response.created', response: { id, object: 'response', status: 'in_progress', output: [] } });
    const last = (body.input ?? []).at(-1);
    const command = this.command(prompt);
    let item: any;
    if (command !== undefined && last?.type !== 'function_call_output') {
      item = { id: `fc_${this.requests.length}`, type: 'function_call', status: 'completed', call_id: `call_${this.requests.length}`, ...shellCall(body.tools ?? [], command) };
      if (!item.name) item = undefined;
    }
    if (!item) {
      const text = last?.type === 'function_call_output' ? `tool said: ${outputText(last.output)}`
        : command !== undefined ? `no shell tool offered: ${(body.tools ?? []).map((t: any) => t.name).join(', ')}` : `echo: ${prompt}`;
      const itemId = `msg_${this.requests.length}`;
      item = { id: itemId, type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };
      send({ type: 'response.output_item.added', output_index: 0, item: { ...item, status: 'in_progress', content: [] } });
      for (let i = 0; i < text.length; i += 8) {
        send({ type: 'response.output_text.delta', item_id: itemId, output_index: 0, content_index: 0, delta: text.slice(i, i + 8) });
      }
    }
    send({ type: 'response.output_item.done', output_index: 0, item });
    send({ type: 'response.completed', response: { id, object: 'response', status: 'completed', output: [item], usage: { input_tokens: 12, input_tokens_details: { cached_tokens: 0 }, output_tokens: 7, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 19 } } });
    res.end();
  }
}

/** Codex's shell tool, as this codex declared it: its name and the arguments for `command`. */
function shellCall(tools: any[], command: string): { name?: string; arguments?: string } {
  const names = new Set(tools.map((t) => t?.name));
  if (names.has('exec_command')) return { name: 'exec_command', arguments: JSON.stringify({ cmd: command }) };
  if (names.has('shell')) return { name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', command] }) };
  return {};
}

/** A function_call_output's output: a string, or content items with text. */
function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (Array.isArray(output)) return output.map((c: any) => c?.text ?? '').join('');
  return JSON.stringify(output);
}

export class GeminiFake extends JsonServer {
  protected handle(req: http.IncomingMessage, res: http.ServerResponse, body: any): void {
    const history: string[] = [];
    for (const c of body.contents ?? []) {
      if (c.role !== 'user') continue;
      for (const p of c.parts ?? []) if (typeof p.text === 'string') history.push(p.text);
    }
    const prompt = history.at(-1) ?? '';
    const reply = (text: string, parts: any[] = [{ text }]) => ({
      candidates: [{ content: { role: 'model', parts }, index: 0 }],
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
    const lastParts: any[] = (body.contents ?? []).at(-1)?.parts ?? [];
    const toolResult = lastParts.find((p) => p?.functionResponse)?.functionResponse;
    // Only the main stream calls tools; the CLI's side requests (:generateContent) get the echo.
    const command = req.url.includes(':streamGenerateContent') ? this.command(prompt) : undefined;
    const offered: string[] = (body.tools ?? []).flatMap((t: any) => (t.functionDeclarations ?? []).map((f: any) => f.name));
    if (command !== undefined && !toolResult && offered.includes('run_shell_command')) {
      const chunk = reply('', [{ functionCall: { name: 'run_shell_command', args: { command } } }]);
      (chunk.candidates[0] as any).finishReason = 'STOP';
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`data: ${JSON.stringify(chunk)}\r\n\r\n`);
      return;
    }
    const text = toolResult ? `tool said: ${typeof toolResult.response?.output === 'string' ? toolResult.response.output : JSON.stringify(toolResult.response)}`
      : command !== undefined ? `no shell tool offered: ${offered.join(', ')}` : `echo: ${prompt}`;
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
