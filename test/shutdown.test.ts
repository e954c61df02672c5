/** Shutdown runs every step even when one throws, and the store always closes. */
import { describe, expect, it } from 'vitest';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway } from './support/gateway.js';
import { TestAdapter } from './support/test-adapter.js';

class BrokenAdapter extends TestAdapter {
  override async stop(): Promise<void> {
    throw new Error('the platform went away');
  }
}

describe('gateway shutdown', () => {
  it('goes on past a failing step and closes the store', async () => {
    const fake = new AnthropicFake();
    const broken = new BrokenAdapter();
    // A close that throws at once, not a rejected promise: nothing after it may be skipped.
    const extension = { close: (): Promise<void> => { throw new Error('the extension is broken'); } };
    const t = await startTestGateway(fake, { adapters: () => [broken], extensions: [extension] });
    await t.stop();
    expect(t.gateway.store.db.raw.open).toBe(false);
  });
});
