/**
 * `cligate chat` end to end: a line typed in the terminal goes through the queue to the real
 * `claude` CLI (against the Anthropic stand-in), and the answer streams back; the second message
 * resumes the same Claude session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { AnthropicFake } from './support/anthropic-fake.js';
import { cliEnv, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';

describe('cligate chat (sqlite queue, real claude CLI)', () => {
  const fake = new AnthropicFake();
  const dir = tmpDir();

  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });

  it('answers a typed message, then resumes the same session for the next one', async () => {
    const config = writeConfig(dir, testConfig(path.join(dir, 'data')));
    const chat = spawnCligate(['chat', '--config', config], cliEnv(fake, dir));
    try {
      chat.write('hello there');
      await chat.waitForLine(/^claude> echo: hello there$/);
      chat.write('and again');
      await chat.waitForLine(/^claude> echo: and again$/);
      // Claude asks: the request is printed with numbered choices, the next line answers it.
      chat.write('[[tool Bash: echo hi > made.txt]]');
      await chat.waitForLine(/1\*\* Allow once .*reply with the number/);
      chat.write('3');
      await chat.waitForLine(/^claude> ❌ \*\*Denied\*\* by/);
      await chat.waitForLine(/^claude> tool said: The person denied this in the chat/);
    } finally {
      chat.child.stdin?.end();
    }
    const { code } = await chat.exited;
    expect(code).toBe(0);

    // Both prompts reached the API; the second request carried the first exchange (--resume).
    expect(fake.prompts()).toEqual(['hello there', 'and again', '[[tool Bash: echo hi > made.txt]]']);
    const second = fake.requests.at(-1)!.body.messages.map((m: any) => JSON.stringify(m.content)).join('\n');
    expect(second).toContain('echo: hello there');

    const db = new Database(path.join(dir, 'data', 'cligate.db'), { readonly: true });
    const sessions = db.prepare('select engine_session_id, turns from sessions').all() as { engine_session_id: string; turns: number }[];
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.turns).toBe(3);
    expect(sessions[0]!.engine_session_id).toMatch(/^[0-9a-f-]{36}$/);
    const sessionIds = new Set(fake.requests.map((r) => JSON.parse(r.body.metadata?.user_id ?? '{}').session_id));
    expect([...sessionIds]).toEqual([sessions[0]!.engine_session_id]);
    db.close();
  });
});
