/** An in-process gateway on a temporary database, its CLI pointed at the Anthropic stand-in. */
import path from 'node:path';
import type { Adapter } from '../../src/adapter.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { Gateway, type GatewayExtension, type Role } from '../../src/gateway.js';
import { silentLogger, type Logger } from '../../src/log.js';
import type { AnthropicFake } from './anthropic-fake.js';
import { cliEnv, testConfig, tmpDir, writeConfig } from './harness.js';
import { TestAdapter } from './test-adapter.js';

export interface TestGateway {
  gateway: Gateway;
  config: LoadedConfig;
  adapter: TestAdapter;
  dir: string;
  stop(): Promise<void>;
}

export async function startTestGateway(fake: AnthropicFake, options: {
  config?: Record<string, unknown>;
  /** Adapters to run instead of the TestAdapter, made from the loaded config. */
  adapters?: (config: LoadedConfig) => Adapter[];
  role?: Role;
  dir?: string;
  log?: Logger;
  extensions?: GatewayExtension[];
} = {}): Promise<TestGateway> {
  const dir = options.dir ?? tmpDir();
  const file = writeConfig(dir, testConfig(path.join(dir, 'data'), options.config));
  const loaded = loadConfig(file);
  if (!loaded.ok) throw new Error(loaded.error);
  const adapter = new TestAdapter();
  const gateway = await Gateway.start(loaded.config, {
    role: options.role ?? 'all',
    adapters: options.adapters?.(loaded.config) ?? [adapter],
    log: options.log ?? silentLogger,
    env: cliEnv(fake, dir),
    extensions: options.extensions,
  });
  return { gateway, config: loaded.config, adapter, dir, stop: () => gateway.stop() };
}
