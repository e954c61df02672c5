/**
 * The store on both databases: SQLite (the default) and PostgreSQL (several hosts), the same calls
 * with the same results, against a real PostgreSQL server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresServer } from '../../test/support/postgres.js';
import { Leases } from '../queue/lease.js';
import { Store } from './index.js';

let postgres: PostgresServer;
beforeAll(async () => {
  postgres = await PostgresServer.start();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

const open = {
  sqlite: async () => Store.open(':memory:'),
  postgres: async () => Store.open({ driver: 'postgres', url: await postgres.createDatabase(), path: '' }),
};

describe.each(['sqlite', 'postgres'] as const)('the store on %s', (driver) => {
  let store: Store;
  beforeAll(async () => {
    store = await open[driver]();
  });
  afterAll(() => store?.close());

  const inbound = (chat: string, id: string | null, text: string) => ({
    conversation_id: `telegram:${chat}`, kind: 'prompt' as const, platform: 'telegram' as const, platform_message_id: id, request_sha256: null,
    user_id: '42', user_key: 'telegram:42', text, attachments: null, reply_context: '{}', status: 'queued' as const, received_at: Date.now(),
  });

  it('stores a message once, hands them out in order, and finishes them', () => {
    const conversation = store.conversations.ensure({ platform: 'telegram', chatId: '1', threadId: '' }, '42');
    expect(conversation.id).toBe('telegram:1');
    const first = store.messages.insert(inbound('1', 'u1', 'hello'));
    expect(typeof first).toBe('number');
    expect(store.messages.insert(inbound('1', 'u1', 'hello again'))).toBe('duplicate');
    // No platform id: never a duplicate.
    const second = store.messages.insert(inbound('1', null, 'second'));
    const third = store.messages.insert(inbound('1', null, 'third'));
    expect([second, third].every((id) => typeof id === 'number' && id > (first as number))).toBe(true);
    expect(store.messages.pendingConversations()).toEqual(['telegram:1']);
    expect(store.messages.counts('telegram:1')).toEqual({ queued: 3, running: 0 });

    const next = store.messages.next('telegram:1')!;
    expect(next.id).toBe(first);
    const running = store.messages.markRunning(next.id);
    expect(running).toMatchObject({ status: 'running', attempts: 1, cancel_requested: 0 });
    expect(typeof running!.started_at).toBe('number');
    const session = store.conversations.startSession('telegram:1', 'claude', '/tmp/ws', 1000);
    store.conversations.recordTurn(session.id, 'sess-1', 0.25);
    store.messages.finish(next.id, 'done', { sessionId: session.id, costUsd: 0.25 });
    expect(store.messages.outcome(next.id)).toMatchObject({ status: 'done' });
    // A finished (or cancelled) message is not claimed again by a worker that read it earlier.
    expect(store.messages.markRunning(next.id)).toBeUndefined();
    expect(store.messages.outcome(next.id)).toMatchObject({ status: 'done', attempts: 1 });
    expect(store.messages.next('telegram:1')!.id).toBe(second);
    expect(store.messages.requestCancel('telegram:1')).toEqual({ running: 0, dropped: [second, third] });
    expect(store.messages.counts()).toEqual({ queued: 0, running: 0 });
    expect(store.messages.costByUserSince('telegram:42', 0)).toBeCloseTo(0.25);
    expect(store.conversations.activeSession(store.conversations.get('telegram:1')!)).toMatchObject({ engine_session_id: 'sess-1', turns: 1 });
    expect(store.conversations.list(10)[0]).toMatchObject({ id: 'telegram:1', turns: 1 });
  });

  it('finds transcript lines by every word, the last one as a prefix, within the given conversations', () => {
    store.conversations.ensure({ platform: 'telegram', chatId: '2', threadId: '' }, '42');
    store.transcript.append('telegram:1', null, 'user', 'Please run the Postgres migration tests');
    store.transcript.append('telegram:1', null, 'assistant', 'The migration ran; all tests pass');
    store.transcript.append('telegram:2', null, 'user', 'migrate the Postgres schema');
    const hits = (text: string, ids?: string[]) => store.transcript.search(text, ids).map((h) => [h.conversation_id, h.role]);
    expect(hits('postgres migr').sort()).toEqual([['telegram:1', 'user'], ['telegram:2', 'user']]);
    expect(hits('postgres migr', ['telegram:2'])).toEqual([['telegram:2', 'user']]);
    expect(hits('nothing like this')).toEqual([]);
    expect(store.transcript.search('migration tests', undefined)[0]!.snippet).toContain('[');
  });

  it('indexes lines for search in batches: a line deleted or edited before or after its batch is found as it is', () => {
    store.conversations.ensure({ platform: 'telegram', chatId: '3', threadId: '' }, '42');
    const ids = () => store.db.all(store.db.q.selectFrom('transcript').select(['id', 'text']).where('conversation_id', '=', 'telegram:3').orderBy('id'));
    store.transcript.append('telegram:3', null, 'user', 'zebra alpha');
    store.transcript.append('telegram:3', null, 'user', 'zebra beta');
    store.transcript.indexForSearch();
    store.transcript.append('telegram:3', null, 'user', 'zebra gamma');
    store.transcript.append('telegram:3', null, 'user', 'zebra delta');
    const [alpha, beta, gamma, delta] = ids();
    // Before and after its batch: one of each deleted, one of each edited.
    store.db.run(store.db.q.deleteFrom('transcript').where('id', 'in', [alpha!.id, gamma!.id]));
    store.db.run(store.db.q.updateTable('transcript').set({ text: 'zebra epsilon' }).where('id', '=', beta!.id));
    store.db.run(store.db.q.updateTable('transcript').set({ text: 'zebra zeta' }).where('id', '=', delta!.id));
    const found = (text: string) => store.transcript.search(text, ['telegram:3']).map((h) => h.id);
    expect(found('zebra').sort()).toEqual([beta!.id, delta!.id].sort());
    expect([found('alpha'), found('beta'), found('gamma'), found('delta')]).toEqual([[], [], [], []]);
    expect([found('epsilon'), found('zeta')]).toEqual([[beta!.id], [delta!.id]]);
    if (driver === 'sqlite') store.db.raw.exec("insert into transcript_search(transcript_search, rank) values ('integrity-check', 1)");
  });

  it('keeps one reply per message and seq in the outbox, due in order', () => {
    store.outbox.addReply('telegram:1', 1, 'first answer', Date.now() + 60_000, {}, 1);
    store.outbox.addReply('telegram:1', 1, 'first answer, again', Date.now() + 60_000, {}, 1);
    const due = store.outbox.due();
    expect(due.map((r) => r.text)).toEqual(['first answer, again']);
    const [a, b] = store.outbox.split(due[0]!, ['part one', 'part two']);
    expect([a!.seq, b!.seq, a!.text, b!.text]).toEqual([0, 1, 'part one', 'part two']);
    store.outbox.markSent(a!.id, 'ref-1');
    expect(store.outbox.pendingCount('telegram:1')).toBe(1);
  });

  it('decides an approval once, and runs a transaction whole or not at all', () => {
    const approval = store.approvals.create({
      conversationId: 'telegram:1', messageId: 1, requestedBy: 'telegram:42', waiting: 1, expiresAt: Date.now() + 60_000,
      ask: { kind: 'tool', tool: 'Bash', input: { command: 'ls' }, suggestions: [] },
    } as Parameters<Store['approvals']['create']>[0]);
    expect(store.approvals.pending('telegram:1').map((a) => a.id)).toEqual([approval.id]);
    expect(store.approvals.resolve(approval.id, 'allowed', { choice: 'allow', decidedBy: '@a' })).toBe(true);
    expect(store.approvals.resolve(approval.id, 'denied', { choice: 'deny', decidedBy: '@b' })).toBe(false);
    expect(() => store.db.tx(() => {
      store.approvals.addRules('telegram:1', ['Bash(ls)'], '@a');
      throw new Error('half-way');
    })).toThrow('half-way');
    expect(store.approvals.rules('telegram:1')).toEqual([]);
    store.db.tx(() => store.db.tx(() => store.approvals.addRules('telegram:1', ['Bash(ls)'], '@a')));
    expect(store.approvals.rules('telegram:1').map((r) => r.rule)).toEqual(['Bash(ls)']);
  });

  it('gives a lease to one owner; a renewal tells when another took it over', () => {
    // Two processes (on two machines).
    const a = Object.assign(new Leases(store.db, 50), { owner: 'host-a:10:aaaa' });
    const b = Object.assign(new Leases(store.db, 50), { owner: 'host-b:10:bbbb' });
    expect(a.claim('telegram:1', 1000)).toBe(true);
    expect(b.claim('telegram:1', 1010)).toBe(false);
    expect(a.renew(['telegram:1'], 1020)).toBe(0);
    expect(b.claim('telegram:1', 1100)).toBe(true);
    expect(a.renew(['telegram:1'], 1110)).toBe(1);
    b.release('telegram:1');
    expect(a.claim('telegram:1', 1120)).toBe(true);
  });
});

describe('PostgreSQL', () => {
  it('applies its schema once when several processes open a new database together', async () => {
    const url = await postgres.createDatabase();
    const stores = [0, 1, 2].map(() => Store.open({ driver: 'postgres', url, path: '' }));
    try {
      expect(stores[2]!.db.sql<{ n: number }>('select count(*) n from schema_migrations')[0]!.n).toBeGreaterThan(0);
    } finally {
      for (const s of stores) s.close();
    }
  });

  it('names the fix when the server cannot be reached', () => {
    expect(() => Store.open({ driver: 'postgres', url: 'postgres://cligate@127.0.0.1:1/none', path: '' })).toThrow(/ECONNREFUSED|connect/);
  });
});
