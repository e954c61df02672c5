import { describe, expect, it } from 'vitest';
import { parseCommand, runCommand, type CommandContext } from './commands.js';
import { configSchema } from './config/schema.js';
import { Store } from './store/index.js';

function context(): CommandContext & { queue(text: string): number } {
  const store = Store.open(':memory:');
  const conversation = store.conversations.ensure({ platform: 'telegram', chatId: '1' }, '1');
  const queue = (text: string) => store.messages.insert({
    conversation_id: conversation.id, platform: 'telegram', platform_message_id: null, request_sha256: null, user_id: '1', user_key: 'telegram:1',
    text, attachments: null, reply_context: null, received_at: Date.now(), kind: 'prompt', status: 'queued',
  }) as number;
  return { store, config: configSchema.parse({}), conversation, userKey: 'telegram:1', messageId: 0, enabledEngines: ['claude'], extensions: new Map(), queue };
}

const run = (text: string, ctx: CommandContext) => runCommand(parseCommand(text)!, ctx);

describe('commands', () => {
  it('parse with a bot suffix and arguments, and nothing else is a command', () => {
    expect(parseCommand('/Mode@cligate_bot  plan ')).toEqual({ name: 'mode', args: 'plan' });
    expect(parseCommand('not /a command')).toBeUndefined();
    expect(parseCommand('/ spaced')).toBeUndefined();
  });

  it('/stop drops queued messages and ends each of them, so nobody waits for their answer', async () => {
    const ctx = context();
    const [a, b] = [ctx.queue('one'), ctx.queue('two')];
    const result = await run('/stop', ctx);
    expect(result.text).toBe('Dropped 2 queued messages.');
    expect(result.events?.map((e) => [e.type, 'messageId' in e ? e.messageId : undefined])).toEqual([['stop', undefined], ['finished', a], ['finished', b]]);
    expect(ctx.store.messages.get(a)!.status).toBe('cancelled');
    expect((await run('/stop', ctx)).text).toBe('Nothing is running in this conversation.');
  });

  it('an unknown command lists the commands and goes only to who typed it', async () => {
    const result = await run('/frobnicate', context());
    expect(result).toMatchObject({ ephemeral: true, text: expect.stringContaining('Unknown command /frobnicate. Commands: /new') });
  });

  it('/mode checks its argument and names the modes', async () => {
    const ctx = context();
    expect((await run('/mode sideways', ctx)).text).toMatch(/default|plan|acceptEdits/);
    await run('/mode plan', ctx);
    expect(ctx.store.conversations.get(ctx.conversation.id)!.permission_mode).toBe('plan');
  });
});
