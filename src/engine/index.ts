/** The engines this gateway can run, and which one a conversation uses. */
import { forPlatform, type Config, type EngineName } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Conversation } from '../store/db.js';
import { ClaudeEngine } from './claude/index.js';
import { CodexEngine } from './codex.js';
import { GeminiEngine } from './gemini.js';
import type { Engine } from './types.js';
import { cleanEnv } from '../sandbox/env.js';
import { loginPaths } from '../sandbox/homes.js';
import { Sandbox } from '../sandbox/index.js';

export class Engines {
  private readonly engines = new Map<EngineName, Engine>();
  /** How every engine's CLI processes are contained (throws when sandbox.mode = "bwrap" cannot be had). */
  readonly sandbox: Sandbox;

  constructor(private readonly config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env) {
    const jobTimeoutS = config.worker.job_timeout_s;
    const sandbox = (this.sandbox = Sandbox.fromConfig(config));
    this.engines.set('claude', new ClaudeEngine({ claude: config.engine.claude, retry: config.retry, live: config.live, jobTimeoutS, log, env, sandbox }));
    if (config.engine.codex.enabled) this.engines.set('codex', new CodexEngine({ codex: config.engine.codex, jobTimeoutS, log, env, sandbox }));
    if (config.engine.gemini.enabled) this.engines.set('gemini', new GeminiEngine({ gemini: config.engine.gemini, jobTimeoutS, log, env, sandbox }));
    sandbox.knowLogins(this.enabled().flatMap((name) => loginPaths(name, cleanEnv(name, env, config.engine[name].env))));
  }

  /** Engines switched on in the config. */
  enabled(): EngineName[] {
    return [...this.engines.keys()];
  }

  get(name: EngineName): Engine | undefined {
    return this.engines.get(name);
  }

  /** The conversation's engine, or a message saying why it cannot run. */
  for(conversation: Pick<Conversation, 'engine' | 'platform'>): Engine | { error: string } {
    const name = engineOf(this.config, conversation);
    const engine = this.engines.get(name);
    if (engine) return engine;
    return { error: `The ${name} engine is not enabled on this gateway (engine.${name}.enabled in the config). Switch with /engine claude.` };
  }

  /** Runs `engine` in place of the configured one of its name (the bench's in-process echo engine). */
  use(engine: Engine): void {
    this.engines.set(engine.name, engine);
  }

  /** Starts every engine's spares (workers, at start-up). */
  warm(): void {
    for (const engine of this.engines.values()) engine.warm?.();
  }

  /** Whether some engine keeps this conversation's CLI running between turns here. */
  holdsLive(conversationId: string): boolean {
    for (const engine of this.engines.values()) if (engine.holdsLive?.(conversationId)) return true;
    return false;
  }

  async release(conversationId: string): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.release(conversationId)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.close()));
  }
}

/** The engine a conversation uses: its own choice (/engine), else its channel's default, else the default. */
export function engineOf(config: Config, conversation: Pick<Conversation, 'engine' | 'platform'>): EngineName {
  return conversation.engine ?? forPlatform(config.engine.channels, conversation.platform) ?? config.engine.default;
}
