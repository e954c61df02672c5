/**
 * A loopback stand-in for the Anthropic Messages API, enough for the real `claude` CLI to run against it.
 *
 * It streams SSE the way the API does (message_start, content_block_start/delta/stop for text and
 * tool_use, message_delta, message_stop), answers error statuses on demand and can be slowed down.
 * What it answers is decided per request: by a scripted queue, by a test's `respond` hook, or by
 * directives written into the prompt (handy when the CLI runs in another process):
 *
 *   [[status 529]]          answer with that HTTP error
 *   [[tool Bash: echo hi]]  ask for a tool call; the follow-up request gets "tool said: <result>"
 *   [[call Write {"file_path": "a.txt", "content": "hi"}]]  a tool call with this JSON input
 *   [[long 10000]]          a Markdown answer of about that many characters, with code blocks
 *   [[slow 50]]             wait that many ms between deltas
 *   [[hang]]                never answer
 *   [[reply: some text]]    answer exactly "some text"
 * Anything else is echoed back as "echo: <prompt>".
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeTurn {
  text?: string;
  toolUse?: { name: string; input: Record<string, unknown> };
  status?: number;
  /** Characters per text delta. */
  chunkSize?: number;
  /** Pause between deltas, in ms. */
  delayMs?: number;
  /** Awaited before text delta `index` is sent: a test holds the answer at that point. */
  beforeDelta?: (index: number) => Promise<void> | void;
  hang?: boolean;
}

export interface RecordedRequest {
  at: number;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: any;
  /** The prompt: the last text block of the last user message. */
  prompt: string;
  /** The system prompt flattened to one string. */
  system: string;
  /** Set when this request carries a tool result instead of a new prompt. */
  toolResult?: string;
  /** When the answer was complete (or the connection closed). */
  finishedAt?: number;
}

export interface AnthropicFakeOptions {
  /** Default pause between deltas for every answer ("slow mode"). */
  delayMs?: number;
  chunkSize?: number;
}

export class AnthropicFake {
  readonly requests: RecordedRequest[] = [];
  /** Scripted answers, used first, one per request. */
  readonly script: FakeTurn[] = [];
  /** A test's own policy, consulted after the script. Return undefined to fall through to directives. */
  respond?: (req: RecordedRequest) => FakeTurn | undefined;
  private server?: http.Server;
  private readonly open = new Set<http.ServerResponse>();
  private toolSeq = 0;
  private messageSeq = 0;
  url = '';

  constructor(private readonly options: AnthropicFakeOptions = {}) {}

  get port(): number {
    return (this.server!.address() as AddressInfo).port;
  }

  /** Environment for a `claude` process that should talk to this fake and nothing else. */
  env(configDir: string): Record<string, string> {
    return {
      ANTHROPIC_BASE_URL: this.url,
      ANTHROPIC_API_KEY: 'sk-ant-fake-key-for-tests',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
      CLAUDE_CONFIG_DIR: configDir,
    };
  }

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    // As the real API: an idle connection outlives the CLI's own idle timeout, so it is never closed
    // here just as a CLI sends its next request on it (a dropped connection the test did not ask for).
    this.server.keepAliveTimeout = 65_000;
    this.server.headersTimeout = 66_000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${this.port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Prompts received so far (tool follow-ups excluded), in order. */
  prompts(): string[] {
    return this.requests.filter((r) => r.toolResult === undefined).map((r) => r.prompt);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url?.startsWith('/v1/messages')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'not here' } }));
        return;
      }
      let body: any = {};
      try {
        body = JSON.parse(raw);
      } catch {
        /* recorded as empty */
      }
      const recorded = describeRequest(req, body);
      this.requests.push(recorded);
      const turn = this.script.shift() ?? this.respond?.(recorded) ?? this.fromDirectives(recorded);
      res.on('close', () => (recorded.finishedAt = Date.now()));
      void this.answer(res, body, turn);
    });
  }

  private fromDirectives(req: RecordedRequest): FakeTurn {
    if (req.toolResult !== undefined) return { text: `tool said: ${req.toolResult}` };
    const p = req.prompt;
    const turn: FakeTurn = {};
    const slow = /\[\[slow (\d+)\]\]/.exec(p);
    if (slow) turn.delayMs = Number(slow[1]);
    const status = /\[\[status (\d+)\]\]/.exec(p);
    if (status) return { ...turn, status: Number(status[1]) };
    if (p.includes('[[hang]]')) return { hang: true };
    const call = /\[\[call (\w+) (\{[\s\S]*?\})\]\]/.exec(p);
    if (call) return { ...turn, toolUse: { name: call[1]!, input: JSON.parse(call[2]!) } };
    const tool = /\[\[tool (\w+): ([^\]]+)\]\]/.exec(p);
    if (tool) return { ...turn, toolUse: { name: tool[1]!, input: { command: tool[2], description: 'run it' } } };
    const long = /\[\[long (\d+)\]\]/.exec(p);
    if (long) return { ...turn, text: longMarkdown(Number(long[1])) };
    const reply = /\[\[reply: ([\s\S]*?)\]\]/.exec(p);
    if (reply) return { ...turn, text: reply[1] };
    return { ...turn, text: `echo: ${p}` };
  }

  private async answer(res: http.ServerResponse, body: any, turn: FakeTurn): Promise<void> {
    this.open.add(res);
    res.on('close', () => this.open.delete(res));
    if (turn.hang) return;
    if (turn.status && turn.status >= 400) {
      const type = ERROR_TYPES[turn.status] ?? 'api_error';
      res.writeHead(turn.status, { 'content-type': 'application/json', 'retry-after': '1', 'request-id': 'req_fake' });
      res.end(JSON.stringify({ type: 'error', error: { type, message: `fake ${type}` } }));
      return;
    }
    const model = typeof body.model === 'string' ? body.model : 'claude-fake';
    const delayMs = turn.delayMs ?? this.options.delayMs ?? 0;
    const chunkSize = turn.chunkSize ?? this.options.chunkSize ?? 40;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'request-id': 'req_fake' });
    const send = (event: string, data: unknown) => {
      if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const pause = () => (delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : Promise.resolve());
    send('message_start', {
      type: 'message_start',
      // A fresh id per answer: the CLI groups content blocks of one message id into one message.
      message: {
        id: `msg_fake_${++this.messageSeq}`, type: 'message', role: 'assistant', model, content: [],
        stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 },
      },
    });
    let outputTokens = 1;
    if (turn.toolUse) {
      const id = `toolu_fake_${++this.toolSeq}`;
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id, name: turn.toolUse.name, input: {} } });
      await pause();
      send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(turn.toolUse.input) } });
      send('content_block_stop', { type: 'content_block_stop', index: 0 });
      send('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 5 } });
    } else {
      const text = turn.text ?? '';
      send('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
      for (let i = 0; i < text.length; i += chunkSize) {
        await pause();
        await turn.beforeDelta?.(i / chunkSize);
        send('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: text.slice(i, i + chunkSize) } });
        outputTokens++;
      }
      send('content_block_stop', { type: 'content_block_stop', index: 0 });
      send('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: outputTokens } });
    }
    send('message_stop', { type: 'message_stop' });
    res.end();
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

function describeRequest(req: http.IncomingMessage, body: any): RecordedRequest {
  const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
  const blocks = (m: any): any[] => (typeof m?.content === 'string' ? [{ type: 'text', text: m.content }] : Array.isArray(m?.content) ? m.content : []);
  // The prompt: the last text a user wrote (the CLI may merge it into a message with earlier tool results).
  let prompt = '';
  for (const m of messages) {
    if (m?.role !== 'user') continue;
    for (const block of blocks(m)) {
      if (block?.type === 'text' && typeof block.text === 'string' && !block.text.startsWith('<system-reminder>')) prompt = block.text;
    }
  }
  // A tool follow-up: the last thing the user side says is a tool result, not new text.
  let toolResult: string | undefined;
  const lastUser = [...messages].reverse().find((m) => m?.role === 'user');
  const last = blocks(lastUser).filter((b) => !(b?.type === 'text' && String(b.text).startsWith('<system-reminder>'))).at(-1);
  if (last?.type === 'tool_result') toolResult = flattenToolResult(last.content);
  const system = typeof body.system === 'string'
    ? body.system
    : Array.isArray(body.system) ? body.system.map((b: any) => b?.text ?? '').join('\n') : '';
  return { at: Date.now(), url: req.url ?? '', headers: req.headers, body, prompt, system, toolResult };
}

function flattenToolResult(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((c: any) => c?.text ?? '').join('');
  return '';
}

/** A Markdown answer of about `length` characters: paragraphs, lists and fenced code blocks. */
export function longMarkdown(length: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 1; size < length; i++) {
    const part = i % 3 === 0
      ? '```ts\n' + Array.from({ length: 12 }, (_, j) => `const value${i}_${j} = compute(${j}) * 2; // step ${j}`).join('\n') + '\n```'
      : i % 3 === 1
        ? `## Part ${i}\n\nParagraph ${i}: **bold** words, \`inline code\`, a [link](https://example.com/${i}) and _emphasis_ ` + 'lorem ipsum dolor sit amet '.repeat(8).trim() + '.'
        : `- item ${i}.1 with <angle> & "quotes"\n- item ${i}.2\n- item ${i}.3`;
    parts.push(part);
    size += part.length + 2;
  }
  return parts.join('\n\n');
}
