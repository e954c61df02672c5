import { describe, expect, it, vi } from 'vitest';
import { askOf, PausableTimer } from '../engine/claude/control.js';
import { describe as describeAsk } from './describe.js';
import { LocalBus } from '../bus.js';
import { configSchema } from '../config/schema.js';
import { silentLogger } from '../log.js';
import { Store } from '../store/index.js';
import { ApprovalDesk, parseActionId, ruleMatches, rulesOf } from './index.js';
import type { PermissionAsk } from './types.js';

const bash = (command: string, suggestions: unknown[] = []): PermissionAsk => ({ kind: 'tool', tool: 'Bash', input: { command }, suggestions });

describe('button ids', () => {
  it('parse back into choices, and nothing else passes', () => {
    expect(parseActionId('ap:12:allow')).toEqual({ approvalId: 12, choice: { choice: 'allow' } });
    expect(parseActionId('ap:12:always')).toEqual({ approvalId: 12, choice: { choice: 'allow_always' } });
    expect(parseActionId('ap:3:q1.2')).toEqual({ approvalId: 3, choice: { question: 1, option: 2 } });
    expect(parseActionId('ap:3:submit')).toEqual({ approvalId: 3, choice: { submit: true } });
    for (const junk of ['stop', 'ap:x:allow', 'ap:1:allow;drop', 'ap:1:q1', '']) expect(parseActionId(junk)).toBeUndefined();
  });
});

describe('kept rules', () => {
  it('"Allow in this conversation" keeps the exact command first, then the CLI\'s suggestion', () => {
    const ask = bash('npm test', [{ type: 'addRules', behavior: 'allow', rules: [{ toolName: 'Bash', ruleContent: 'npm test:*' }] }, { type: 'addDirectories', directories: ['/w'] }]);
    expect(rulesOf(ask)).toEqual(['Bash(npm test)', 'Bash(npm test:*)']);
    expect(rulesOf({ kind: 'tool', tool: 'Write', input: { file_path: 'a' }, suggestions: [] })).toEqual(['Write']);
  });

  it('match the tool, an exact command or a prefix, and nothing wider', () => {
    expect(ruleMatches('Bash(npm test)', bash('npm test'))).toBe(true);
    expect(ruleMatches('Bash(npm test)', bash('npm test && rm -rf /'))).toBe(false);
    expect(ruleMatches('Bash(git:*)', bash('git status'))).toBe(true);
    expect(ruleMatches('Bash(git *)', bash('git'))).toBe(true);
    expect(ruleMatches('Bash(git:*)', bash('gitk'))).toBe(false);
    expect(ruleMatches('Write', { kind: 'tool', tool: 'Write', input: { file_path: 'a' }, suggestions: [] })).toBe(true);
    expect(ruleMatches('Write', bash('ls'))).toBe(false);
  });
});

describe('what a person sees', () => {
  it('the command for Bash, a short diff for Edit, long inputs shortened', () => {
    expect(describeAsk('tool', 'Bash', { command: 'rm -rf build', description: 'clean' }).markdown).toBe('🔐 **Claude wants to run a command** — clean\n\n```sh\nrm -rf build\n```');
    const edit = describeAsk('tool', 'Edit', { file_path: 'src/a.ts', old_string: 'a = 1', new_string: 'a = 2' }).markdown;
    expect(edit).toContain('`src/a.ts`');
    expect(edit).toContain('- a = 1\n+ a = 2');
    const long = describeAsk('tool', 'Write', { file_path: 'x', content: 'line\n'.repeat(500) });
    expect(long.markdown).toContain('… (shortened)');
    expect(long.full).toContain('line\\nline');
    // A fence longer than any backtick run inside keeps the code block whole.
    expect(describeAsk('tool', 'Bash', { command: 'echo ```' }).markdown).toContain('````sh\necho ```\n````');
  });

  it('questions and plans come from the CLI request as typed asks', () => {
    const q = askOf({ tool_name: 'AskUserQuestion', input: { questions: [{ question: 'Which?', header: 'H', multiSelect: true, options: [{ label: 'A', description: 'a' }, { label: 'B' }] }] } });
    expect(q).toMatchObject({ kind: 'question', questions: [{ question: 'Which?', multiSelect: true, options: [{ label: 'A', description: 'a' }, { label: 'B' }] }] });
    expect(askOf({ tool_name: 'ExitPlanMode', input: { plan: 'p' } }).kind).toBe('plan');
    expect(askOf({ tool_name: 'Bash', input: { command: 'ls' } })).toMatchObject({ kind: 'tool', tool: 'Bash', suggestions: [] });
  });
});

describe('the turn timeout while a person decides', () => {
  it('stops counting while paused', () => {
    vi.useFakeTimers();
    try {
      const expired = vi.fn();
      const timer = new PausableTimer(1000, expired);
      vi.advanceTimersByTime(600);
      timer.pause();
      vi.advanceTimersByTime(10_000);
      expect(expired).not.toHaveBeenCalled();
      timer.resume();
      vi.advanceTimersByTime(399);
      expect(expired).not.toHaveBeenCalled();
      vi.advanceTimersByTime(2);
      expect(expired).toHaveBeenCalledOnce();
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('a card whose place was never noted (kill -9 right after posting it)', () => {
  it('a press on it tells the request expired and redraws that card without buttons', () => {
    const store = Store.open(':memory:');
    const bus = new LocalBus();
    const desk = new ApprovalDesk({ store, bus, config: configSchema.parse({}), log: silentLogger });
    const address = { platform: 'telegram' as const, chatId: '42' };
    const conversation = store.conversations.ensure(address, '42');
    const row = store.approvals.create({ conversationId: conversation.id, messageId: 1, ask: bash('echo hi'), requestedBy: '42', waiting: 0, expiresAt: Date.now() + 60_000 });
    store.approvals.expireForMessage(1);
    const redraws: unknown[] = [];
    bus.subscribe((event) => event.type === 'approval_update' && redraws.push(event.approvalId));

    const elsewhere = desk.act({ address: { platform: 'telegram', chatId: '7' }, userId: '7', actionId: `ap:${row.id}:allow`, messageRef: '99' });
    expect(elsewhere.text).toBe('This request expired.');
    expect(store.approvals.get(row.id)!.platform_ref).toBeNull();

    expect(desk.act({ address, userId: '42', actionId: `ap:${row.id}:allow`, messageRef: '10' })).toEqual({ ok: false, text: 'This request expired.' });
    expect(store.approvals.get(row.id)!.platform_ref).toBe('10');
    expect(redraws).toEqual([row.id, row.id]);
  });
});
