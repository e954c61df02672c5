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
    const t = await startTestGateway(fake, { adapters: () => [broken] });
    await t.stop();
    expect(t.gateway.store.db.raw.open).toBe(false);
  });
});
