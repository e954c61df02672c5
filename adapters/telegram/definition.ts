/** Telegram's config section, access rules and limits: what the core knows of Telegram. */
import { z } from 'zod';
import { ids } from '../../src/config/fields.js';
import { definePlatform } from '../../src/platform.js';

export const telegramConfig = z.strictObject({
  /** Bot token from @BotFather (env TELEGRAM_BOT_TOKEN). Empty: Telegram is off. */
  token: z.string().default(''),
  /** Telegram user ids allowed to talk to the bot. Empty: nobody. */
  allowed_users: ids,
  /** If set, only these group chats (ids are negative); DMs of allowed users always work. */
  allowed_chats: ids,
  /** Webhook mode when set (e.g. https://bot.example.com/telegram); long polling otherwise. */
  webhook_url: z.string().default(''),
  /** Secret Telegram sends back in X-Telegram-Bot-Api-Secret-Token (env TELEGRAM_WEBHOOK_SECRET). */
  webhook_secret: z.string().default(''),
  /** Markup of answers: HTML (robust) or MarkdownV2. */
  parse_mode: z.enum(['HTML', 'MarkdownV2']).default('HTML'),
  /** Bot API root; change only for a local Bot API server or tests. */
  api_root: z.string().default('https://api.telegram.org'),
  /** Largest attachment downloaded into the workspace. */
  max_file_mb: z.number().positive().default(20),
});

export type TelegramConfig = z.infer<typeof telegramConfig>;

export const telegram = definePlatform({
  name: 'telegram',
  config: telegramConfig,
  env: { TELEGRAM_BOT_TOKEN: 'token', TELEGRAM_WEBHOOK_SECRET: 'webhook_secret' },
  secrets: ['token', 'webhook_secret'],
  where: 'a Telegram chat',
  enabled: (c) => !!c.token,
  access: (c) => ({ open: false, users: c.allowed_users, places: c.allowed_chats, usersKey: 'allowed_users', placesKey: 'allowed_chats' }),
  maxFileMb: (c) => c.max_file_mb,
  create: async (c) => new (await import('./index.js')).TelegramAdapter(c),
});
