/** The stream-json parser and the outcome mapping, on output captured from the real CLI. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../paths.js';
import type { EngineEvent } from '../types.js';
import { claudeOutcome, type RunFacts } from './outcome.js';
import { ClaudeStream, summarizeTool } from './stream.js';

function parse(fixture: string): { stream: ClaudeStream; events: EngineEvent[] } {
  const stream = new ClaudeStream();
  const events: EngineEvent[] = [];
  const text = fs.readFileSync(path.join(PROJECT_ROOT, 'test/fixtures/claude', fixture), 'utf8');
  for (const line of text.split('\n').filter(Boolean)) events.push(...stream.push(line));
  return { stream, events };
}

const facts = (extra: Partial<RunFacts> = {}): RunFacts => ({
  bin: 'claude', stderr: '', costBefore: 0, startedAt: Date.now(), timedOut: false, timeoutS: 600, cancelled: false, maxTurns: 0, ...extra,
});

describe('ClaudeStream', () => {
  it('reads a plain answer: init, then the result', () => {
    const { stream, events } = parse('stream-basic.jsonl');
    expect(events[0]).toMatchObject({ type: 'init', sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    const outcome = claudeOutcome(stream, facts());
    expect(outcome).toMatchObject({ ok: true, text: 'echo: hello stream' });
    expect(outcome.costUsd).toBeGreaterThan(0);
  });

  it('turns partial messages into text deltas that add up to the answer', () => {
    const { stream, events } = parse('stream-partial-messages.jsonl');
    const text = events.filter((e) => e.type === 'text').map((e) => (e as { text: string }).text).join('');
    expect(text.length).toBeGreaterThan(100);
    expect(stream.result!.text).toBe(text);
  });

  it('reports tool use with a one-line summary, and its result', () => {
    const { events } = parse('stream-tool-bash-partial.jsonl');
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool_use', name: 'Bash', summary: 'running: ls /srv/work/proj | head -3' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'tool_result', isError: false }));
  });

  it('reports a denied tool as a notice', () => {
    const { events } = parse('stream-tool-permission-denied.jsonl');
    expect(events.some((e) => e.type === 'notice' && /Permission denied: Bash/.test(e.text))).toBe(true);
  });

  it('reports the CLI\'s own API retries', () => {
    const { events, stream } = parse('stream-error-529-10-retries.jsonl');
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries).toHaveLength(10);
    expect(retries[0]).toMatchObject({ attempt: 1, maxRetries: 10, status: 529 });
    expect(claudeOutcome(stream, facts()).error).toMatchObject({ code: 'overloaded', retryable: true });
  });

  it('maps a 429 to rate_limited, retryable', () => {
    const { stream } = parse('stream-error-429-no-retry.jsonl');
    expect(claudeOutcome(stream, facts()).error).toMatchObject({ code: 'rate_limited', retryable: true });
  });

  it('maps max turns to a message naming the config key', () => {
    const { stream } = parse('stream-error-max-turns.jsonl');
    const error = claudeOutcome(stream, facts({ maxTurns: 1 })).error!;
    expect(error.code).toBe('max_turns');
    expect(error.message).toMatch(/engine\.claude\.max_turns/);
  });

  it('maps an interrupted turn to cancelled when we asked for it', () => {
    const { stream } = parse('stream-input-interrupt.out.jsonl');
    expect(claudeOutcome(stream, facts({ cancelled: true })).error!.code).toBe('cancelled');
  });

  it('ignores garbage and unknown types, and says so when there is nothing else', () => {
    const stream = new ClaudeStream();
    expect(stream.push('not json at all')).toEqual([]);
    expect(stream.push('{"type":"brand_new_event","x":1}')).toEqual([]);
    expect(stream.push('[1,2]')).toEqual([]);
    const onlyGarbage = new ClaudeStream();
    onlyGarbage.push('Welcome to some other program');
    const outcome = claudeOutcome(onlyGarbage, facts({ exit: { code: 0, signal: null } }));
    expect(outcome.error!.code).toBe('bad_output');
  });

  it('maps an exit without a result to crashed, quoting stderr', () => {
    const stream = new ClaudeStream();
    stream.push('{"type":"system","subtype":"init","session_id":"s1"}');
    const outcome = claudeOutcome(stream, facts({ exit: { code: null, signal: 'SIGSEGV' }, stderr: 'boom: segfault\n' }));
    expect(outcome.error).toMatchObject({ code: 'crashed' });
    expect(outcome.error!.message).toMatch(/killed by SIGSEGV.*boom: segfault/);
  });

  it('maps a missing session', () => {
    const stream = new ClaudeStream();
    const outcome = claudeOutcome(stream, facts({ exit: { code: 1, signal: null }, stderr: 'No conversation found with session ID: abc' }));
    expect(outcome.error!.code).toBe('session_missing');
  });
});

describe('summarizeTool', () => {
  it('says what common tools do, in one short line', () => {
    expect(summarizeTool('Read', { file_path: '/a/b.ts' })).toBe('reading /a/b.ts');
    expect(summarizeTool('WebSearch', { query: 'node 20' })).toBe('searching the web: node 20');
    expect(summarizeTool('mcp__memory__recall', {})).toBe('using memory/recall');
    expect(summarizeTool('Bash', { command: 'x'.repeat(200) }).length).toBeLessThanOrEqual(90);
  });
});
