/**
 * Containment of every CLI process, in one place so no engine builds its own: the engine hands over
 * the command it wants to run for a conversation, with its (already allow-listed) environment, and
 * gets back the command to start, pointed at the conversation's own CLI home.
 */
import type { Config, EngineName } from '../config/schema.js';
import { conversationHome, prepareHome } from './homes.js';

export interface Launch {
  engine: EngineName;
  conversationId: string;
  /** The conversation's workspace. */
  cwd: string;
  bin: string;
  args: string[];
  /** The CLI's environment as the engine made it (allow-listed, with its own settings). */
  env: NodeJS.ProcessEnv;
}

export interface Command {
  bin: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export class Sandbox {
  constructor(private readonly dataDir: string) {}

  static fromConfig(config: Config): Sandbox {
    return new Sandbox(config.gateway.data_dir);
  }

  /** The command to start for `launch`. */
  command(launch: Launch): Command {
    const home = prepareHome(launch.engine, conversationHome(this.dataDir, launch.engine, launch.conversationId), launch.env, launch.cwd);
    return { bin: launch.bin, args: launch.args, env: { ...launch.env, ...home.env } };
  }
}
