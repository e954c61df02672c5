/**
 * The registry: the one place that lists the platforms. The core reads these definitions for the
 * config schema, the allow-lists, the log scrubber and the system prompt; `messengerAdapters` makes
 * the adapters the config switches on. Each SDK is imported only when its adapter is made, so a
 * gateway pays in memory only for the platforms it serves.
 */
import type { Adapter } from '../src/adapter.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';
import { sectionOf, type AnyPlatformDefinition } from '../src/platform.js';
import { discord } from './discord/definition.js';
import { http } from './http/definition.js';
import { local } from './local/definition.js';
import { slack } from './slack/definition.js';
import { matrix } from './matrix/definition.js';
import { telegram } from './telegram/definition.js';

/** Every platform, in the order adapters start. */
export const platforms = [local, http, telegram, slack, discord, matrix] as const;

export function platformNamed(name: string): AnyPlatformDefinition | undefined {
  return (platforms as readonly AnyPlatformDefinition[]).find((p) => p.name === name);
}

export async function messengerAdapters(config: LoadedConfig, log: Logger): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  for (const platform of platforms as readonly AnyPlatformDefinition[]) {
    const section = sectionOf(config, platform);
    if (!platform.create || !platform.enabled(section)) continue;
    const problem = platform.problem?.(section);
    if (problem) throw new Error(problem);
    adapters.push(await platform.create(section));
  }
  warnIfNobodyAllowed(config, log);
  return adapters;
}

/** Default deny: a messenger with a token but no allow-list answers nobody. Say how to fix it. */
function warnIfNobodyAllowed(config: LoadedConfig, log: Logger): void {
  for (const platform of platforms as readonly AnyPlatformDefinition[]) {
    const section = sectionOf(config, platform);
    const policy = platform.access(section);
    if (platform.enabled(section) && !policy.open && policy.users.length === 0) {
      log.warn(`${platform.name}: allowed_users is empty, so nobody can use the bot. Message it once: it replies with your user id; add that to ${platform.name}.${policy.usersKey ?? 'allowed_users'} and restart.`);
    }
  }
}
