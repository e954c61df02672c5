/** The engines this gateway can run, and which one a conversation uses. */
import type { Config, EngineName } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Conversation } from '../store/db.js';
import { ClaudeEngine } from './claude/index.js';
import type { Engine } from './types.js';

export class Engines {
  private readonly engines = new Map<EngineName, Engine>();

  constructor(private readonly config: Config, log: Logger, env: NodeJS.ProcessEnv = process.env) {
    this.engines.set('claude', new ClaudeEngine({
      claude: config.engine.claude, retry: config.retry, live: config.live, jobTimeoutS: config.worker.job_timeout_s, log, env,
    }));
  }

  /** Engines switched on in the config. */
  enabled(): EngineName[] {
    return [...this.engines.keys()];
  }

  get(name: EngineName): Engine | undefined {
    return this.engines.get(name);
  }

  /** The conversation's engine, or a message saying why it cannot run. */
  for(conversation: Pick<Conversation, 'engine'>): Engine | { error: string } {
    const name = (conversation.engine ?? this.config.engine.default) as EngineName;
    const engine = this.engines.get(name);
    if (engine) return engine;
    return { error: `The ${name} engine is not enabled on this gateway (engine.${name}.enabled in the config). Switch with /engine claude.` };
  }

  async release(conversationId: string): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.release(conversationId)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.engines.values()].map((e) => e.close()));
  }
}
