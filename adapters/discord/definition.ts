/** Discord's config section, access rules and limits: what the core knows of Discord. */
import { z } from 'zod';
import { ids } from '../../src/config/fields.js';
import { definePlatform } from '../../src/platform.js';

export const discordConfig = z.strictObject({
  /** Bot token (env DISCORD_BOT_TOKEN). Empty: Discord is off. */
  token: z.string().default(''),
  /** Discord user ids allowed. Empty: nobody. */
  allowed_users: ids,
  allowed_guilds: ids,
  allowed_channels: ids,
  /** Register slash commands in this guild only (instant, for development); empty: globally. */
  dev_guild_id: z.string().default(''),
  /** Needs the privileged Message Content intent switched on in the developer portal. */
  message_content: z.boolean().default(true),
  /** Start a thread from a mention in a server channel when the channel allows it. */
  threads: z.boolean().default(true),
  /** REST API root; change only for tests. */
  api_url: z.string().default('https://discord.com/api'),
  max_file_mb: z.number().positive().default(20),
});

export type DiscordConfig = z.infer<typeof discordConfig>;

export const discord = definePlatform({
  name: 'discord',
  config: discordConfig,
  env: { DISCORD_BOT_TOKEN: 'token' },
  secrets: ['token'],
  where: 'a Discord chat',
  enabled: (c) => !!c.token,
  // A place is a guild or a channel: either list lets the message through.
  access: (c) => ({ open: false, users: c.allowed_users, places: [...c.allowed_guilds, ...c.allowed_channels], usersKey: 'allowed_users', placesKey: 'allowed_guilds' }),
  maxFileMb: (c) => c.max_file_mb,
  create: async (c) => new (await import('./index.js')).DiscordAdapter(c),
});
