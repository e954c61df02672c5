/**
 * What a conversation's CLI can reach, tried from inside with the real `claude` CLI (bypassPermissions,
 * so its Bash tool runs unasked) against the stand-in: the gateway's secrets are in its environment,
 * and one gateway serves every case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';

const anthropic = new AnthropicFake();
const SECRETS = { SLACK_SIGNING_SECRET: 'slack-signing-secret-value', REDIS_URL: 'redis://:redis-password@127.0.0.1:1', CLIGATE_SECRET_THING: 'cligate-thing' };
let t: TestGateway;

beforeAll(async () => {
  await anthropic.start();
  t = await startTestGateway(anthropic, { config: { engine: { claude: { permission_mode: 'bypassPermissions' } } }, env: SECRETS });
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await anthropic.stop();
});

/** Runs `command` through Claude's Bash tool in chat `chat`; resolves with what the tool printed. */
async function bash(chat: string, command: string): Promise<string> {
  const before = t.adapter.finals(chat).length;
  await t.adapter.say(chat, `[[tool Bash: ${command}]]`);
  const answer = await eventually(() => t.adapter.finals(chat).slice(before).find((f) => f.startsWith('tool said')), 60_000, `the answer to ${command}`);
  return answer;
}

describe('a conversation\'s CLI', () => {
  it('sees none of the gateway\'s secrets in its environment', async () => {
    const env = await bash('env', 'env');
    expect(env).toMatch(/PATH=/);
    for (const value of Object.values(SECRETS)) expect(env).not.toContain(value);
    expect(env).not.toMatch(/SLACK_|REDIS_URL|CLIGATE_/);
  }, 90_000);
});
