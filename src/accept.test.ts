/**
 * Accepting a message, without a CLI: who is let in, what is stored, what is answered at once. Runs
 * on an in-memory database with a queue that only records wakes.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { ReceiveResult } from './adapter.js';
import { Intake } from './accept.js';
import { ApprovalDesk } from './approvals/index.js';
import { LocalBus, type BusEvent } from './bus.js';
import { processRecord } from './process-id.js';
import { configSchema, type Config } from './config/schema.js';
import { silentLogger } from './log.js';
import type { JobQueue } from './queue/types.js';
import { Store } from './store/index.js';

function setUp(overrides: Record<string, unknown> = {}) {
  const store = Store.open(':memory:');
  const bus = new LocalBus();
  const events: BusEvent[] = [];
  bus.subscribe((e) => events.push(e));
  const woken: string[] = [];
  const queue = { driver: 'sqlite', wake: async (id: string) => void woken.push(id) } as unknown as JobQueue;
  const config: Config = configSchema.parse({ telegram: { allowed_users: ['42'] }, limits: { max_message_chars: 50 }, ...overrides });
  const desk = new ApprovalDesk({ store, bus, config, log: silentLogger });
  const deps = { store, queue, bus, config, log: silentLogger, desk, enabledEngines: ['claude' as const] };
  const intake = new Intake(deps);
  const say = (text: string, userId = '42', messageId?: string) =>
    intake.receive({ address: { platform: 'telegram', chatId: '42' }, userId, text, messageId });
  return { store, events, woken, intake, deps, desk, say };
}

describe('accepting a message', () => {
  it('stores an allowed user\'s message, then wakes the queue; the same platform id twice is one message', async () => {
    const { store, woken, say } = setUp();
    const first = await say('hello', '42', 'm1');
    expect(first).toMatchObject({ status: 'accepted', conversationId: 'telegram:42' });
    expect(store.messages.get(messageIdOf(first))).toMatchObject({ text: 'hello', status: 'queued' });
    expect(woken).toEqual(['telegram:42']);
    expect((await say('hello', '42', 'm1')).status).toBe('duplicate');
    expect(store.messages.counts('telegram:42').queued).toBe(1);
  });

  it('refuses a stranger once with their id, then ignores them; nothing is stored', async () => {
    const { store, say } = setUp();
    const refused = await say('hi', '7');
    expect(refused.status).toBe('refused');
    expect(textOf(refused)).toContain('Your user id is 7');
    expect((await say('hi again', '7')).status).toBe('ignored');
    expect(store.messages.counts().queued).toBe(0);
  });

  it('answers a command at once and a too-long message with the limit and its key, queueing neither', async () => {
    const { store, woken, say } = setUp();
    expect((await say('/help')).status).toBe('handled');
    expect((await say('x'.repeat(51))).status).toBe('handled');
    expect(woken).toEqual([]);
    const replies = store.db.all(store.db.q.selectFrom('outbox').select('text').orderBy('id')).map((r) => r.text);
    expect(replies[0]).toContain('/new');
    expect(replies[1]).toMatch(/51 characters long; the limit is 50 \(limits\.max_message_chars\)/);
  });

  it('takes a number as the answer to a pending request, from the asker only', async () => {
    const { store, desk, say } = setUp();
    const accepted = await say('run it');
    const message = store.messages.get(messageIdOf(accepted))!;
    const conversation = store.conversations.get('telegram:42')!;
    const decision = desk.ask(message, conversation, { kind: 'tool', tool: 'Bash', input: { command: 'ls' }, suggestions: [] }, new AbortController().signal);
    expect((await say('1', '43')).status).toBe('refused');
    expect((await say('1')).status).toBe('answered');
    expect(await decision).toEqual({ behavior: 'allow', updatedInput: { command: 'ls' } });
    // Decided: the next "1" is an ordinary message again.
    expect((await say('1')).status).toBe('accepted');
  });
});

describe('commands a crash left unanswered', () => {
  it('are answered at start when their gateway is gone, once however many gateways start, and not while it runs', async () => {
    const { store, intake, deps } = setUp();
    const conversation = store.conversations.ensure({ platform: 'telegram', chatId: '42' }, '42');
    const now = Date.now();
    const command = (owner: string | null, receivedAt = now) => store.messages.insert({
      conversation_id: conversation.id, kind: 'command', platform: 'telegram', platform_message_id: null, request_sha256: null,
      user_id: '42', user_key: 'telegram:42', text: '/help', attachments: null, reply_context: null, status: 'running',
      received_at: receivedAt, engine_process: owner,
    }) as number;
    const dead = spawnSync('true').pid!;
    const ids = {
      deadHere: command(processRecord(dead)),
      aliveHere: command(processRecord(process.ppid)),
      beforeOwners: command(null),
      elsewhereNow: command('another-host:7'),
      elsewhereLongAgo: command('another-host:7', now - 6 * 60_000),
    };
    // A second gateway starting at the same time, on the same store.
    const other = new Intake(deps);
    await Promise.all([intake.recover(now), other.recover(now)]);
    const status = (id: number) => store.messages.get(id)!.status;
    expect(Object.fromEntries(Object.entries(ids).map(([k, id]) => [k, status(id)]))).toEqual({
      deadHere: 'done', aliveHere: 'running', beforeOwners: 'done', elsewhereNow: 'running', elsewhereLongAgo: 'done',
    });
    const answers = store.db.all(store.db.q.selectFrom('outbox').select('message_id'));
    expect(answers.map((a) => a.message_id).sort()).toEqual([ids.deadHere, ids.beforeOwners, ids.elsewhereLongAgo].sort());
  });
});

function messageIdOf(result: ReceiveResult): number {
  if (!('messageId' in result) || result.messageId === undefined) throw new Error(`no message stored: ${result.status}`);
  return result.messageId;
}

function textOf(result: ReceiveResult): string | undefined {
  return 'text' in result ? result.text : undefined;
}
