/** An in-process gateway on a temporary database, its CLI pointed at the Anthropic stand-in. */
import path from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
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

export interface TestGatewayOptions {
  config?: Record<string, unknown>;
  /** Adapters to run instead of the TestAdapter, made from the loaded config. */
  adapters?: (config: LoadedConfig) => Adapter[];
  role?: Role;
  dir?: string;
  log?: Logger;
  extensions?: GatewayExtension[];
  /** More variables in the gateway's environment (secrets a CLI must not see). */
  env?: Record<string, string>;
}

/**
 * For a test file whose tests each start their own gateway: the stand-in runs for the whole file,
 * and each test's gateway is stopped (and the stand-in's answers reset) after the test.
 */
export function gatewayPerTest(fake: AnthropicFake): (options?: TestGatewayOptions) => Promise<TestGateway> {
  let current: TestGateway | undefined;
  beforeAll(async () => {
    await fake.start();
  });
  afterAll(async () => {
    await fake.stop();
  });
  afterEach(async () => {
    await current?.stop();
    current = undefined;
    fake.respond = undefined;
    fake.script.length = 0;
  });
  return async (options = {}) => {
    // A test that starts a second gateway (scopes, restarts) stops the first one itself.
    await current?.stop();
    return (current = await startTestGateway(fake, options));
  };
}

export async function startTestGateway(fake: AnthropicFake, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const dir = options.dir ?? tmpDir();
  const file = writeConfig(dir, testConfig(path.join(dir, 'data'), options.config));
  const loaded = loadConfig(file);
  if (!loaded.ok) throw new Error(loaded.error);
  const adapter = new TestAdapter();
  const gateway = await Gateway.start(loaded.config, {
    role: options.role ?? 'all',
    adapters: options.adapters?.(loaded.config) ?? [adapter],
    log: options.log ?? silentLogger,
    env: cliEnv(fake, dir, options.env),
    extensions: options.extensions,
  });
  return { gateway, config: loaded.config, adapter, dir, stop: () => gateway.stop() };
}

/**
 * Runs `body` with `approvals.timeout_s` shortened to `seconds`, so that a test can let one request
 * time out without slowing the other tests of its gateway. The desk reads the setting when a request
 * is made and when its card is redrawn: `body` should see the timeout happen before it returns.
 */
export async function withApprovalTimeout<T>(t: TestGateway, seconds: number, body: () => Promise<T>): Promise<T> {
  const before = t.config.approvals.timeout_s;
  t.config.approvals.timeout_s = seconds;
  try {
    return await body();
  } finally {
    t.config.approvals.timeout_s = before;
  }
}

/** The approval requests recorded for a conversation, oldest first. */
export function approvalsOf(t: TestGateway, conversationId: string) {
  const { db } = t.gateway.store;
  return db.all(db.q.selectFrom('approvals').selectAll().where('conversation_id', '=', conversationId).orderBy('id'));
}
