/** The messenger adapters the config switches on (a token set), plus the HTTP API when enabled. */
import type { Adapter } from '../src/adapter.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';

export async function messengerAdapters(config: LoadedConfig, log: Logger): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  void config;
  void log;
  return adapters;
}
