/** Slack's config section, access rules and limits: what the core knows of Slack. */
import { z } from 'zod';
import { ids } from '../../src/config/fields.js';
import { definePlatform } from '../../src/platform.js';

export const slackConfig = z.strictObject({
  /** xoxb-... (env SLACK_BOT_TOKEN). Empty: Slack is off. */
  bot_token: z.string().default(''),
  /** xapp-... for Socket Mode (env SLACK_APP_TOKEN). */
  app_token: z.string().default(''),
  /** For HTTP mode (env SLACK_SIGNING_SECRET). */
  signing_secret: z.string().default(''),
  mode: z.enum(['socket', 'http']).default('socket'),
  /** Path of the events endpoint in HTTP mode, on the gateway's HTTP server. */
  events_path: z.string().default('/slack/events'),
  /** Slack user ids allowed. Empty: nobody. */
  allowed_users: ids,
  /** If set, only these channels (DMs are always allowed to allowed users). */
  allowed_channels: ids,
  /** If set, events from other workspaces are ignored. */
  team_id: z.string().default(''),
  /** The slash command registered in the app manifest. */
  command: z.string().default('/claude'),
  /** Web API root; change only for tests. */
  api_url: z.string().default('https://slack.com/api/'),
  max_file_mb: z.number().positive().default(20),
});

export type SlackConfig = z.infer<typeof slackConfig>;

export const slack = definePlatform({
  name: 'slack',
  config: slackConfig,
  env: { SLACK_BOT_TOKEN: 'bot_token', SLACK_APP_TOKEN: 'app_token', SLACK_SIGNING_SECRET: 'signing_secret' },
  secrets: ['bot_token', 'app_token', 'signing_secret'],
  where: 'a Slack chat',
  enabled: (c) => !!c.bot_token,
  access: (c) => ({ open: false, users: c.allowed_users, places: c.allowed_channels, usersKey: 'allowed_users', placesKey: 'allowed_channels' }),
  maxFileMb: (c) => c.max_file_mb,
  problem: (c) => {
    if (c.mode === 'socket' && !c.app_token) return 'slack.mode is "socket" but slack.app_token (SLACK_APP_TOKEN, xapp-...) is empty: make an app-level token with the connections:write scope, or use mode = "http".';
    if (c.mode === 'http' && !c.signing_secret) return 'slack.mode is "http" but slack.signing_secret (SLACK_SIGNING_SECRET) is empty: copy it from the app\'s Basic Information page.';
    return undefined;
  },
  create: async (c) => new (await import('./index.js')).SlackAdapter(c),
});
