/** The adapters the config switches on: a messenger when its token is set, the HTTP API when enabled. */
import type { Adapter } from '../src/adapter.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';
import { HttpAdapter } from './http/index.js';

export async function messengerAdapters(config: LoadedConfig, log: Logger): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  if (config.http.enabled) adapters.push(new HttpAdapter({ http: config.http }));
  void log;
  return adapters;
}
