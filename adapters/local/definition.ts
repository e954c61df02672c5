/** The terminal chat (`cligate chat`): always allowed, started by that command rather than by config. */
import { z } from 'zod';
import { definePlatform } from '../../src/platform.js';

export const local = definePlatform({
  name: 'local',
  config: z.strictObject({
    /** User id of the terminal chat (`cligate chat`); the terminal is always allowed. */
    user: z.string().default('local'),
  }),
  where: 'a terminal chat',
  enabled: () => false,
  access: () => ({ open: true, users: [], places: [] }),
});
