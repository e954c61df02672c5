/**
 * Warm sessions: one live `claude --input-format stream-json` process per active conversation.
 * Follow-ups reuse it; /new, a dead process, the cap and /stop are handled without the user noticing.
 */
import { describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { gatewayPerTest, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import type { ClaudeEngine } from '../src/engine/claude/index.js';

const fake = new AnthropicFake();
const start = gatewayPerTest(fake);
const gateway = (live: Record<string, unknown> = {}): Promise<TestGateway> => start({ config: { live: { enabled: true, ...live } } });

function pids(t: TestGateway, chatId: string): number[] {
  return (t.gateway.store.db.raw
    .prepare("select engine_process from messages where conversation_id = ? and kind = 'prompt' order by id")
    .all(`local:${chatId}`) as { engine_process: string }[]).map((r) => Number(r.engine_process.split(':')[1]));
}

async function ask(t: TestGateway, chatId: string, text: string, expected = `echo: ${text}`): Promise<number> {
  const before = t.adapter.finals(chatId).length;
  const started = Date.now();
  await t.adapter.say(chatId, text);
  await eventually(() => t.adapter.finals(chatId).length > before, 30_000, `answer to "${text}"`);
  expect(t.adapter.finals(chatId).at(-1)).toBe(expected);
  return Date.now() - started;
}

describe('live CLI processes', () => {
  it('answers follow-ups from the same process, in the same session, much faster', async () => {
    const t = await gateway();
    const cold = await ask(t, 'W', 'first');
    const warm = [await ask(t, 'W', 'second'), await ask(t, 'W', 'third')];
    const [p1, p2, p3] = pids(t, 'W');
    expect(p2).toBe(p1);
    expect(p3).toBe(p1);
    expect(Math.max(...warm)).toBeLessThan(cold / 2);
    // The history travels in the live process: the third request carries the first exchange.
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('echo: first');
    const session = t.gateway.store.db.raw.prepare('select turns from sessions').get() as { turns: number };
    expect(session.turns).toBe(3);
  });

  it('/new stops the live process: the next message starts a new session in a new process', async () => {
    const t = await gateway();
    await ask(t, 'N', 'before');
    await t.adapter.say('N', '/new');
    await eventually(() => t.adapter.finals('N').length === 2, 5000, '/new');
    await ask(t, 'N', 'after');
    const [p1, p2] = pids(t, 'N');
    expect(p2).not.toBe(p1);
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).not.toContain('echo: before');
  });

  it('replaces a process that died between turns, resuming the same session', async () => {
    const t = await gateway();
    await ask(t, 'D', 'one');
    const [p1] = pids(t, 'D');
    process.kill(p1!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    await ask(t, 'D', 'two');
    const [, p2] = pids(t, 'D');
    expect(p2).not.toBe(p1);
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('echo: one');
  });

  it('keeps at most max_processes alive, stopping the least recently used', async () => {
    const t = await gateway({ max_processes: 1 });
    await ask(t, 'P1', 'hello one');
    await ask(t, 'P2', 'hello two');
    const [first] = pids(t, 'P1');
    await eventually(() => {
      try {
        process.kill(first!, 0);
        return false;
      } catch {
        return true;
      }
    }, 5000, 'the older process to stop');
    // Coming back to the first conversation still works (a fresh process resumes it).
    await ask(t, 'P1', 'back again');
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('echo: hello one');
  });

  it('/stop interrupts the live turn and the process answers the next message', async () => {
    const t = await gateway();
    await ask(t, 'S', 'warm up');
    fake.respond = (req) => (req.prompt === 'long one' ? { text: 'y '.repeat(500), chunkSize: 2, delayMs: 20 } : undefined);
    await t.adapter.say('S', 'long one');
    await eventually(() => t.adapter.calls.filter((c) => c.chatId === 'S' && c.op === 'post').length >= 2, 20_000, 'draft');
    await t.adapter.say('S', '/stop');
    await eventually(() => t.adapter.finals('S').some((f) => f.endsWith('_(stopped)_')), 10_000, 'stopped');
    fake.respond = undefined;
    await ask(t, 'S', 'after stop');
    const all = pids(t, 'S');
    expect(all.at(-1)).toBe(all[0]);
  });

  it('stops idle processes after the idle timeout', async () => {
    const t = await gateway({ idle_timeout_s: 0.3 });
    await ask(t, 'I', 'idle soon');
    const [pid] = pids(t, 'I');
    await eventually(() => {
      try {
        process.kill(pid!, 0);
        return false;
      } catch {
        return true;
      }
    }, 5000, 'the idle process to exit');
  });
});

describe('spare processes and early starts', () => {
  const pool = (t: TestGateway) => (t.gateway.engines!.get('claude') as ClaudeEngine).livePool!;
  const sessionOf = (t: TestGateway, chatId: string) =>
    (t.gateway.store.db.raw.prepare('select engine_session_id from sessions where conversation_id = ? order by id desc').get(`local:${chatId}`) as { engine_session_id: string }).engine_session_id;
  const waitSpare = async (t: TestGateway) => {
    await eventually(() => pool(t).waitingSpares.length === 1, 20_000, 'a spare');
    return pool(t).waitingSpares[0]!;
  };

  it('answers a new conversation from a spare that existed before the message, resumes it, replaces the spare, within max_processes', async () => {
    const t = await gateway({ spares: 1, max_processes: 3 });
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, pool(t).size)), 20);
    try {
      await ask(t, 'A', 'first of A'); // the first new session: spares are made with its flags from now on
      const spare = await waitSpare(t);
      await ask(t, 'B', 'first of B');
      expect(pids(t, 'B')[0]).toBe(spare.pid);
      expect(sessionOf(t, 'B')).toBe(spare.sessionId);
      const replacement = await waitSpare(t);
      expect(replacement.pid).not.toBe(spare.pid);
      // The next message resumes in the same process; after it dies, a new process finds the session in B's own home.
      await ask(t, 'B', 'second of B');
      expect(pids(t, 'B')[1]).toBe(spare.pid);
      process.kill(spare.pid, 'SIGKILL');
      await eventually(() => pool(t).processOf('local:B') === undefined, 5000, 'the process to go');
      await ask(t, 'B', 'third of B');
      expect(pids(t, 'B')[2]).not.toBe(spare.pid);
      expect(sessionOf(t, 'B')).toBe(spare.sessionId);
      expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('echo: second of B');
      // A and B's processes and the spare fill the pool: C takes the spare and none is started after it.
      await ask(t, 'C', 'first of C');
      expect(pids(t, 'C')[0]).toBe(replacement.pid);
      await new Promise((r) => setTimeout(r, 300));
      expect(pool(t).waitingSpares).toHaveLength(0);
      expect(most).toBeLessThanOrEqual(3);
    } finally {
      clearInterval(watch);
    }
  });

  it('/new takes a spare', async () => {
    const t = await gateway({ spares: 1 });
    await ask(t, 'N', 'before');
    const spare = await waitSpare(t);
    await t.adapter.say('N', '/new');
    await eventually(() => t.adapter.finals('N').length === 2, 5000, '/new');
    await ask(t, 'N', 'after');
    expect(pids(t, 'N').at(-1)).toBe(spare.pid);
    expect(sessionOf(t, 'N')).toBe(spare.sessionId);
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).not.toContain('echo: before');
  });

  it('starts the --resume process while the message is queued, one process for the session', async () => {
    const t = await gateway();
    await ask(t, 'E', 'one');
    await t.gateway.engines!.release('local:E');
    expect(pool(t).processOf('local:E')).toBeUndefined();
    let atStart: { pid: number } | undefined;
    const off = t.gateway.bus.subscribe((event) => {
      // 'started' is published by the worker after it marks the message running.
      if (event.type === 'started' && event.conversationId === 'local:E') atStart = pool(t).processOf('local:E');
    });
    await ask(t, 'E', 'two');
    off();
    expect(atStart).toBeDefined();
    expect(pids(t, 'E')[1]).toBe(atStart!.pid);
    expect(JSON.stringify(fake.requests.at(-1)!.body.messages)).toContain('echo: one');
  });
});
