import { describe, expect, it } from 'vitest';
import { TestAdapter } from '../test/support/test-adapter.js';
import { DeliveryError, type Adapter, type StreamAdapter } from './adapter.js';
import { LocalBus, type JobEvent } from './bus.js';
import { Delivery } from './delivery.js';
import { silentLogger } from './log.js';
import { Store } from './store/index.js';

/** A conversation with one message in it, as the worker leaves it before delivery. */
function setUp(adapter: Adapter, platform = adapter.platform) {
  const store = Store.open(':memory:');
  const bus = new LocalBus();
  const conversation = store.conversations.ensure({ platform, chatId: 'c' }, 'u');
  const newMessage = () => store.messages.insert({
    conversation_id: conversation.id, platform, platform_message_id: null, request_sha256: null, user_id: 'u', user_key: `${platform}:u`,
    text: 'hi', attachments: null, reply_context: null, received_at: Date.now(), kind: 'prompt', status: 'running',
  }) as number;
  const messageId = newMessage();
  const delivery = new Delivery({ store, bus, adapters: new Map([[platform, adapter]]), log: silentLogger, tickMs: 20 });
  delivery.start();
  const ref = { conversationId: conversation.id, messageId };
  const answer = (text: string, to = messageId) => {
    store.outbox.addReply(conversation.id, to, text, Date.now() + 60_000);
    bus.publish({ type: 'outbox' });
  };
  return { store, bus, delivery, ref, answer, newMessage };
}

async function until(test: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('delivery to a chat adapter', () => {
  it('the final answer replaces the draft that streamed it, and the rest is posted below in pieces', async () => {
    const chat = new TestAdapter({ maxChars: 100, editIntervalMs: 10, typingIntervalMs: 0 });
    const { store, bus, delivery, ref, answer } = setUp(chat);
    bus.publish({ type: 'started', ...ref, attempt: 1, engine: 'claude' });
    bus.publish({ type: 'text', ...ref, text: 'Working on it' });
    await until(() => chat.calls.some((c) => c.op === 'post'), 'the draft');
    const draft = chat.calls.find((c) => c.op === 'post')!.ref!;
    answer(`${'a'.repeat(80)}\n\n${'b'.repeat(80)}`);
    await until(() => store.outbox.due().length === 0 && chat.finals('c').length === 2, 'the final answer');
    expect(chat.messages.get(draft)).toMatchObject({ text: 'a'.repeat(80), final: true });
    expect(chat.finals('c')).toEqual(['a'.repeat(80), 'b'.repeat(80)]);
    await delivery.stop();
  });

  it('waits out a rate limit and retries, then delivers once', async () => {
    const chat = new TestAdapter();
    const { store, delivery, answer } = setUp(chat);
    chat.failures.push(new DeliveryError('429', true, 200));
    const started = Date.now();
    answer('hello');
    await until(() => chat.finals('c').length === 1, 'the retried answer');
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(chat.finals('c')).toEqual(['hello']);
    expect(store.db.all(store.db.q.selectFrom('outbox').select(['status', 'attempts']))).toEqual([{ status: 'sent', attempts: 1 }]);
    await delivery.stop();
  });

  it('gives up at once on a reply the platform refuses for good, and goes on with the next', async () => {
    const chat = new TestAdapter();
    const { store, delivery, answer, newMessage } = setUp(chat);
    chat.failures.push(new DeliveryError('chat not found', false));
    answer('lost');
    answer('next', newMessage());
    await until(() => chat.finals('c').length === 1, 'the next answer');
    expect(chat.finals('c')).toEqual(['next']);
    expect(store.db.all(store.db.q.selectFrom('outbox').select('status').orderBy('id')).map((r) => r.status)).toEqual(['failed', 'sent']);
    await delivery.stop();
  });
});

describe('delivery to a stream adapter', () => {
  it('hands it every event of its messages, drafts and posts nothing, and records the answer as delivered', async () => {
    const seen: JobEvent[] = [];
    const stream: StreamAdapter = { platform: 'http', start: async () => {}, stop: async () => {}, follow: (event) => void seen.push(event) };
    const { store, bus, delivery, ref, answer } = setUp(stream);
    bus.publish({ type: 'started', ...ref, attempt: 1, engine: 'claude' });
    bus.publish({ type: 'text', ...ref, text: 'Hel' });
    bus.publish({ type: 'finished', ...ref, status: 'done', text: 'Hello', costUsd: 0, durationMs: 5 });
    answer('Hello');
    await until(() => store.outbox.due().length === 0, 'the row marked delivered');
    expect(seen.map((e) => e.type)).toEqual(['started', 'text', 'finished']);
    expect(store.db.all(store.db.q.selectFrom('outbox').select('status'))).toEqual([{ status: 'sent' }]);
    await delivery.stop();
  });
});
