/** Matrix's config section, access rules and limits: what the core knows of Matrix. */
import { z } from 'zod';
import { ids } from '../../src/config/fields.js';
import { definePlatform } from '../../src/platform.js';

export const matrixConfig = z.strictObject({
  /** The homeserver's client-server API, e.g. https://matrix.example.org. */
  homeserver_url: z.string().default(''),
  /** The bot account's access token (env MATRIX_ACCESS_TOKEN). Empty: Matrix is off. */
  access_token: z.string().default(''),
  /** The bot account, e.g. @cligate:example.org. */
  user_id: z.string().default(''),
  /** Matrix user ids allowed, e.g. "@alice:example.org". Empty: nobody. */
  allowed_users: ids,
  /** If set, only these rooms (ids like "!abc:example.org"); DMs of allowed users always work. */
  allowed_rooms: ids,
  /** Answer a mention in a room in a thread started from it (the thread is the conversation). */
  threads: z.boolean().default(true),
  max_file_mb: z.number().positive().default(20),
});

export type MatrixConfig = z.infer<typeof matrixConfig>;

export const matrix = definePlatform({
  name: 'matrix',
  config: matrixConfig,
  env: { MATRIX_ACCESS_TOKEN: 'access_token' },
  secrets: ['access_token'],
  where: 'a Matrix chat',
  enabled: (c) => !!c.access_token,
  access: (c) => ({ open: false, users: c.allowed_users, places: c.allowed_rooms, usersKey: 'allowed_users', placesKey: 'allowed_rooms' }),
  maxFileMb: (c) => c.max_file_mb,
  problem: (c) => {
    if (!c.homeserver_url) return 'matrix.access_token is set but matrix.homeserver_url is empty: set it to your homeserver, e.g. "https://matrix.example.org".';
    if (!/^@[^:]+:.+$/.test(c.user_id)) return `matrix.user_id is ${JSON.stringify(c.user_id)}: set it to the bot account's full id, e.g. "@cligate:example.org".`;
    return undefined;
  },
  create: async (c) => new (await import('./index.js')).MatrixAdapter(c),
});
