/** Value types several config sections share, for the core's schema and the adapters' own. */
import { z } from 'zod';

/** A platform id: TOML may write it as a number or a string; it is kept as a string. */
export const id = z.union([z.string(), z.number().int()]).transform(String);
export const ids = z.array(id).default([]);
