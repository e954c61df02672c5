/** The HTTP API and web chat's config section: API keys are checked before a message reaches the core. */
import { z } from 'zod';
import { definePlatform } from '../../src/platform.js';

const apiKey = z.strictObject({
  /** Who this key acts as: rate limits, budgets and memories apply to this id. */
  user: z.string().min(1),
  /** SHA-256 (hex) of the key. Generate one with `cligate key`. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters (sha256 of the key)'),
  /** Sees every conversation of every channel. Other keys see their own web conversations and those of the person they are under [people]. */
  admin: z.boolean().default(false),
});

export const httpConfig = z.strictObject({
  /** The HTTP API, the web chat and the webhook endpoints. */
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8787),
  /** API keys (hashed). With none, a key is made at first start and printed once. */
  api_keys: z.array(apiKey).default([]),
  /** Origins allowed by CORS; empty: CORS off. */
  cors_origins: z.array(z.string()).default([]),
  /** Largest file uploaded into a workspace through the API or the web chat's Files panel, in MB. */
  max_file_mb: z.number().positive().default(20),
  /** Serve the web chat at `/`. */
  web_chat: z.boolean().default(true),
  /**
   * Origins whose pages may show the web chat in a frame (CSP frame-ancestors); empty: none may,
   * which keeps a hostile page from tricking clicks on it.
   */
  frame_ancestors: z.array(
    z.string().regex(/^https?:\/\/[^\s/;,'"]+$/, 'an origin such as "https://intranet.example.com" (scheme, host and optional port; no path)'),
  ).default([]),
});

export type HttpConfig = z.infer<typeof httpConfig>;

export const http = definePlatform({
  name: 'http',
  config: httpConfig,
  where: 'an HTTP API or web chat',
  enabled: (c) => c.enabled,
  access: () => ({ open: true, users: [], places: [] }),
  maxFileMb: (c) => c.max_file_mb,
  create: async (c) => new (await import('./index.js')).HttpAdapter({ http: c }),
});
