/**
 * The adapters the config switches on: a messenger when its token is set, the HTTP API when enabled.
 * Each is imported only when used, so a gateway pays in memory only for the platforms it serves.
 */
import type { Adapter } from '../src/adapter.js';
import type { LoadedConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';

export async function messengerAdapters(config: LoadedConfig, log: Logger): Promise<Adapter[]> {
  const adapters: Adapter[] = [];
  if (config.http.enabled) {
    const { HttpAdapter } = await import('./http/index.js');
    adapters.push(new HttpAdapter({ http: config.http }));
  }
  if (config.telegram.token) {
    const { TelegramAdapter } = await import('./telegram/index.js');
    adapters.push(new TelegramAdapter(config.telegram));
  }
  if (config.slack.bot_token) {
    if (config.slack.mode === 'socket' && !config.slack.app_token) throw new Error('slack.mode is "socket" but slack.app_token (SLACK_APP_TOKEN, xapp-...) is empty: make an app-level token with the connections:write scope, or use mode = "http".');
    if (config.slack.mode === 'http' && !config.slack.signing_secret) throw new Error('slack.mode is "http" but slack.signing_secret (SLACK_SIGNING_SECRET) is empty: copy it from the app\'s Basic Information page.');
    const { SlackAdapter } = await import('./slack/index.js');
    adapters.push(new SlackAdapter(config.slack));
  }
  if (config.discord.token) {
    const { DiscordAdapter } = await import('./discord/index.js');
    adapters.push(new DiscordAdapter(config.discord));
  }
  warnIfNobodyAllowed(config, log);
  return adapters;
}

/** Default deny: a messenger with a token but no allow-list answers nobody. Say how to fix it. */
function warnIfNobodyAllowed(config: LoadedConfig, log: Logger): void {
  const checks: [string, boolean, string[]][] = [
    ['telegram', !!config.telegram.token, config.telegram.allowed_users],
    ['slack', !!config.slack.bot_token, config.slack.allowed_users],
    ['discord', !!config.discord.token, config.discord.allowed_users],
  ];
  for (const [platform, on, users] of checks) {
    if (on && users.length === 0) {
      log.warn(`${platform}: allowed_users is empty, so nobody can use the bot. Message it once: it replies with your user id; add that to ${platform}.allowed_users and restart.`);
    }
  }
}
