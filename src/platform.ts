/**
 * What the core needs to know about a chat platform, declared by the platform's own folder
 * (`adapters/<name>/definition.ts`) and listed once, in `adapters/index.ts`. The core reads these
 * definitions and names no platform itself: a new messenger is a folder and a line in that list.
 */
import type { z } from 'zod';
import type { Adapter } from './adapter.js';

/** Who may talk to the bot on a platform. */
export interface AccessPolicy {
  /** Anyone who reaches this platform may talk (the terminal; HTTP, where keys are checked first). */
  open: boolean;
  users: string[];
  /** If non-empty, a message must come from one of these places (chats, channels, guilds, rooms). */
  places: string[];
  /** The config keys a refusal names, so the owner knows what to edit: "allowed_users", "allowed_chats". */
  usersKey?: string;
  placesKey?: string;
}

export interface PlatformDefinition<Name extends string = string, Schema extends z.ZodObject = z.ZodObject> {
  /** The config section, the conversation ids' prefix, and `Platform` in messages. */
  name: Name;
  /** The section's keys, types and defaults; unknown keys stop start-up with a message naming them. */
  config: Schema;
  /** Environment variables that set keys of the section, e.g. { TELEGRAM_BOT_TOKEN: 'token' }. */
  env?: Record<string, keyof z.infer<Schema> & string>;
  /** Keys of the section holding credentials: their values are scrubbed from every log line. */
  secrets?: (keyof z.infer<Schema> & string)[];
  /** How the system prompt names where the person reads the answer: "a Telegram chat". */
  where: string;
  /** Whether the config switches this platform on (a token is set). */
  enabled(section: z.infer<Schema>): boolean;
  /** Who may talk. */
  access(section: z.infer<Schema>): AccessPolicy;
  /** Largest attachment downloaded into the workspace, in MB; 20 if not said. */
  maxFileMb?(section: z.infer<Schema>): number;
  /** A setting that keeps the platform from starting, as text naming the fix; undefined when fine. */
  problem?(section: z.infer<Schema>): string | undefined;
  /** Makes the adapter; the SDK is imported only here, so unused platforms cost nothing. */
  create?(section: z.infer<Schema>): Promise<Adapter>;
}

/** A definition of any platform, as the core handles them side by side. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlatformDefinition = PlatformDefinition<string, any>;

/** Keeps a definition's literal name and schema types, so the assembled config stays typed. */
export function definePlatform<const Name extends string, Schema extends z.ZodObject>(definition: PlatformDefinition<Name, Schema>): PlatformDefinition<Name, Schema> {
  return definition;
}

/** A platform's section of the whole config. */
export function sectionOf(config: object, definition: AnyPlatformDefinition): unknown {
  return (config as Record<string, unknown>)[definition.name];
}
