/** The Codex and Gemini stream parsers, on output captured from the real CLIs. */
import { describe, expect, it } from 'vitest';
import { CodexStream } from './codex.js';
import { GeminiStream } from './gemini.js';

const feed = <T extends { push(line: string): unknown[] }>(parser: T, lines: string[]) => lines.flatMap((l) => parser.push(l));

describe('CodexStream', () => {
  it('reads a thread, its answer and its usage', () => {
    const p = new CodexStream();
    const events = feed(p, [
      '{"type":"thread.started","thread_id":"01a207ed-5bfc-7f02-9f72-ed8e0f2d918b"}',
      '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `gpt-fake` not found."}}',
      '{"type":"turn.started"}',
      '{"type":"item.started","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","status":"in_progress"}}',
      '{"type":"item.completed","item":{"id":"item_1","type":"command_execution","command":"bash -lc ls","exit_code":0,"status":"completed"}}',
      '{"type":"item.completed","item":{"id":"item_2","type":"agent_message","text":"echo: hello codex"}}',
      '{"type":"turn.completed","usage":{"input_tokens":12,"cached_input_tokens":0,"output_tokens":7}}',
    ]);
    expect(events).toEqual([
      { type: 'init', sessionId: '01a207ed-5bfc-7f02-9f72-ed8e0f2d918b' },
      { type: 'tool_use', id: 'item_1', name: 'command', summary: 'running: bash -lc ls' },
      { type: 'tool_result', id: 'item_1', isError: false },
      { type: 'text', text: 'echo: hello codex' },
    ]);
    expect(p).toMatchObject({ completed: true, lastMessage: 'echo: hello codex', usage: { inputTokens: 12, outputTokens: 7 } });
  });

  it('reports reconnects as retries and keeps the failure', () => {
    const p = new CodexStream();
    const events = feed(p, [
      '{"type":"error","message":"Reconnecting... 2/5 (We’re currently experiencing high demand)"}',
      '{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}',
    ]);
    expect(events).toEqual([{ type: 'retry', attempt: 2, maxRetries: 5, delayMs: 0, status: null }]);
    expect(p.failure).toBe('exceeded retry limit, last status: 429 Too Many Requests');
  });
});

describe('GeminiStream', () => {
  it('reads a session, streamed text and the result', () => {
    const p = new GeminiStream();
    const events = feed(p, [
      '{"type":"init","session_id":"12345678-1234-4234-8234-123456789abc","model":"gemini-2.5-flash"}',
      '{"type":"message","role":"user","content":"hello gemini"}',
      '{"type":"message","role":"assistant","content":"echo: he","delta":true}',
      '{"type":"message","role":"assistant","content":"llo gemini","delta":true}',
      '{"type":"result","status":"success","stats":{"input_tokens":10,"output_tokens":5}}',
    ]);
    expect(events).toEqual([
      { type: 'init', sessionId: '12345678-1234-4234-8234-123456789abc', model: 'gemini-2.5-flash' },
      { type: 'text', text: 'echo: he' },
      { type: 'text', text: 'llo gemini' },
    ]);
    expect(p).toMatchObject({ text: 'echo: hello gemini', result: { status: 'success' }, usage: { inputTokens: 10, outputTokens: 5 } });
  });

  it('keeps the error of a failed result', () => {
    const p = new GeminiStream();
    feed(p, ['{"type":"result","status":"error","error":{"type":"unknown","message":"[API Error: {\\"error\\":{\\"code\\":403}}]"}}']);
    expect(p.result).toEqual({ status: 'error', error: '[API Error: {"error":{"code":403}}]' });
  });
});
