/**
 * Claude asks, the chat answers, with the real `claude` CLI against the stand-in: the request shows
 * up, the person decides, the CLI goes on; timeouts deny, double clicks decide once, a stop cancels,
 * "Allow in this conversation" is kept. The platform here is the test adapter (no buttons: its
 * cards are text with numbered choices); the messengers' buttons are tested in their own folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { gatewayPerTest, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import { workspacePath } from '../src/workspace.js';

const anthropic = new AnthropicFake();
const start = gatewayPerTest(anthropic);

const WRITE = '[[tool Bash: echo hi > made.txt]]';

function workspace(t: TestGateway, chat: string): string {
  return workspacePath(t.config.workspace.root, `local:${chat}`);
}

/** The request card, once it is shown in the chat. */
async function card(t: TestGateway, chat: string): Promise<{ ref: string; text: string }> {
  return eventually(() => {
    const found = [...t.adapter.messages.entries()].find(([, m]) => m.chatId === chat && /reply with the number/.test(m.text));
    return found && { ref: found[0], text: found[1].text };
  }, 30_000, 'the approval request');
}

function approvals(t: TestGateway) {
  return t.gateway.store.db.all(t.gateway.store.db.q.selectFrom('approvals').selectAll().orderBy('id'));
}

describe('tool approvals', () => {
  it('asks before running a command; Allow once runs it, and the answer arrives', async () => {
    const t = await start();
    await t.adapter.say('A', WRITE);
    const shown = await card(t, 'A');
    expect(shown.text).toContain('Claude wants to run a command');
    expect(shown.text).toContain('echo hi > made.txt');
    expect(fs.existsSync(path.join(workspace(t, 'A'), 'made.txt'))).toBe(false);
    await t.adapter.say('A', '1');
    await eventually(() => t.adapter.finals('A').some((f) => f.startsWith('tool said')), 30_000, 'the answer');
    expect(fs.readFileSync(path.join(workspace(t, 'A'), 'made.txt'), 'utf8')).toBe('hi\n');
    await eventually(() => /Allowed once\*\* by tester/.test(t.adapter.messages.get(shown.ref)!.text), 5000, 'the card says who allowed it');
    expect(t.adapter.messages.get(shown.ref)!.text).not.toMatch(/reply with the number/);
  });

  it('Deny: nothing runs, Claude hears why; a stranger cannot answer; a second answer changes nothing', async () => {
    const t = await start();
    await t.adapter.say('B', WRITE);
    await card(t, 'B');
    const stranger = await t.adapter.say('B', '1', 'someone-else');
    expect(stranger.status).toBe('refused');
    expect(stranger).toMatchObject({ text: expect.stringMatching(/Only the person who asked/) });
    expect(approvals(t)[0]!.status).toBe('pending');
    const id = approvals(t)[0]!.id;
    const click = (choice: string) => t.gateway.intake!.act({ address: { platform: 'local', chatId: 'B' }, userId: 'tester', actionId: `ap:${id}:${choice}` });
    const [first, second] = await Promise.all([click('deny'), click('allow')]);
    expect([first.ok, second.ok]).toEqual([true, false]);
    expect(second.text).toMatch(/already answered/);
    await eventually(() => t.adapter.finals('B').some((f) => f.startsWith('tool said')), 30_000, 'the answer');
    expect(t.adapter.finals('B').find((f) => f.startsWith('tool said'))).toMatch(/denied this in the chat/);
    expect(fs.existsSync(path.join(workspace(t, 'B'), 'made.txt'))).toBe(false);
    const [row] = approvals(t);
    expect(row).toMatchObject({ status: 'denied', choice: 'deny', decided_by: 'tester' });
  });

  it('Allow in this conversation keeps a rule: the same call next turn runs without asking; /permissions lists and removes it', async () => {
    const t = await start();
    await t.adapter.say('C', WRITE);
    await card(t, 'C');
    await t.adapter.say('C', '2');
    await eventually(() => t.adapter.finals('C').some((f) => f.startsWith('tool said')), 30_000, 'the first answer');
    fs.rmSync(path.join(workspace(t, 'C'), 'made.txt'));
    await t.adapter.say('C', WRITE);
    await eventually(() => t.adapter.finals('C').filter((f) => f.startsWith('tool said')).length === 2, 30_000, 'the second answer');
    // Recorded, but answered by the rule: no second card.
    expect(approvals(t).map((a) => [a.status, a.decided_by])).toEqual([['allowed', 'tester'], ['allowed', 'rule Bash(echo hi > made.txt)']]);
    expect([...t.adapter.messages.values()].filter((m) => /Claude wants to run/.test(m.text))).toHaveLength(1);
    expect(fs.existsSync(path.join(workspace(t, 'C'), 'made.txt'))).toBe(true);
    await t.adapter.say('C', '/permissions');
    await eventually(() => t.adapter.finals('C').some((f) => /1\. `Bash\(/.test(f)), 5000, 'the rule listed');
    await t.adapter.say('C', '/permissions remove 1');
    await eventually(() => t.adapter.finals('C').some((f) => f.startsWith('Removed `Bash(echo hi > made.txt)`')), 5000, 'the rule removed');
    expect(t.gateway.store.approvals.rules('local:C').map((r) => r.rule)).toEqual(['Bash(echo hi *)']);
  });

  it('with a live CLI too: Allow in this conversation is handed to the running process, and the next turn does not ask', async () => {
    const t = await start({ config: { live: { enabled: true } } });
    await t.adapter.say('L', WRITE);
    await card(t, 'L');
    await t.adapter.say('L', '2');
    await eventually(() => t.adapter.finals('L').some((f) => f.startsWith('tool said')), 30_000, 'the first answer');
    fs.rmSync(path.join(workspace(t, 'L'), 'made.txt'));
    await t.adapter.say('L', WRITE);
    await eventually(() => t.adapter.finals('L').filter((f) => f.startsWith('tool said')).length === 2, 30_000, 'the second answer');
    expect(t.adapter.finals('L').filter((f) => f.startsWith('tool said'))).toEqual(['tool said: (Bash completed with no output)', 'tool said: (Bash completed with no output)']);
    expect(fs.existsSync(path.join(workspace(t, 'L'), 'made.txt'))).toBe(true);
    expect([...t.adapter.messages.values()].filter((m) => /Claude wants to run/.test(m.text))).toHaveLength(1);
  });

  it('no answer in time denies it and says so; waiting does not count toward the job timeout', async () => {
    const t = await start({ config: { approvals: { timeout_s: 4 }, worker: { job_timeout_s: 3 } } });
    await t.adapter.say('D', WRITE);
    const shown = await card(t, 'D');
    await eventually(() => t.adapter.finals('D').some((f) => f.startsWith('tool said')), 30_000, 'the answer after the timeout');
    expect(t.adapter.finals('D').find((f) => f.startsWith('tool said'))).toMatch(/Nobody answered within 4 seconds/);
    expect(t.adapter.messages.get(shown.ref)!.text).toMatch(/Nobody answered within 4 seconds: denied/);
    expect(fs.existsSync(path.join(workspace(t, 'D'), 'made.txt'))).toBe(false);
  });

  it('/stop while a request waits cancels it and stops the turn', async () => {
    const t = await start();
    await t.adapter.say('E', WRITE);
    const shown = await card(t, 'E');
    await t.adapter.say('E', '/stop');
    await eventually(() => /Stopped/.test(t.adapter.messages.get(shown.ref)!.text), 10_000, 'the card says stopped');
    await eventually(() => t.gateway.store.messages.counts('local:E').running === 0, 10_000, 'the turn ended');
    expect(approvals(t)[0]!.status).toBe('cancelled');
    expect(fs.existsSync(path.join(workspace(t, 'E'), 'made.txt'))).toBe(false);
  });
});

describe('questions and plans', () => {
  it('AskUserQuestion: the options are choices, the answer reaches Claude', async () => {
    const t = await start();
    const input = { questions: [{ question: 'Which database?', header: 'DB', multiSelect: false, options: [{ label: 'SQLite', description: 'a file' }, { label: 'Postgres', description: 'a server' }] }] };
    await t.adapter.say('Q', `[[call AskUserQuestion ${JSON.stringify(input)}]]`);
    const shown = await card(t, 'Q');
    expect(shown.text).toContain('Which database?');
    await t.adapter.say('Q', '2');
    await eventually(() => t.adapter.finals('Q').some((f) => f.startsWith('tool said')), 30_000, 'the answer');
    expect(t.adapter.finals('Q').find((f) => f.startsWith('tool said'))).toContain('Postgres');
  });

  it('/mode plan, then ExitPlanMode: Keep planning with a reply sends the feedback to Claude', async () => {
    const t = await start();
    await t.adapter.say('P', '/mode plan');
    await eventually(() => t.adapter.finals('P').some((f) => f.startsWith('Mode: **plan**')), 5000, 'the mode switched');
    await t.adapter.say('P', `[[call ExitPlanMode {"plan": "1. Add a test\\n2. Fix the bug"}]]`);
    const shown = await card(t, 'P');
    expect(shown.text).toMatch(/proposes a plan[\s\S]*Add a test/);
    await t.gateway.intake!.receive({ address: { platform: 'local', chatId: 'P' }, userId: 'tester', text: 'add a benchmark first', replyToRef: shown.ref });
    await eventually(() => t.adapter.finals('P').some((f) => f.startsWith('tool said')), 30_000, 'the answer');
    expect(t.adapter.finals('P').find((f) => f.startsWith('tool said'))).toMatch(/keep planning[\s\S]*add a benchmark first/);
  });
});
