/**
 * pino, with every known secret scrubbed from the final line: tokens from the config, API keys and
 * OAuth tokens from the environment. Field redaction alone would miss a token inside an error
 * message or a URL, so the scrub runs on the serialized text.
 */
import pino, { type Logger } from 'pino';
import { platforms } from '../adapters/index.js';
import type { Config } from './config/schema.js';
import { sectionOf, type AnyPlatformDefinition } from './platform.js';

export type { Logger };

const registered = platforms as readonly AnyPlatformDefinition[];

/** Environment variables whose values are credentials, wherever they show up: the engines', Redis's, PostgreSQL's, and each platform's secret keys'. */
const SECRET_ENV = [
  'ANTHROPIC_API_KEY', 'ANTHROPIC_AUTH_TOKEN', 'CLAUDE_CODE_OAUTH_TOKEN', 'OPENAI_API_KEY', 'CODEX_API_KEY',
  'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'REDIS_URL', 'DATABASE_URL',
  ...registered.flatMap((p) => Object.entries(p.env ?? {}).filter(([, key]) => p.secrets?.includes(key)).map(([name]) => name)),
];

/** The values of the platforms' secret keys in this config. */
function platformSecrets(config: Config): unknown[] {
  return registered.flatMap((p) => {
    const section = sectionOf(config, p) as Record<string, unknown>;
    return (p.secrets ?? []).map((key) => section[key]);
  });
}

export function collectSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const values = [
    ...platformSecrets(config), passwordOf(config.queue.redis_url), passwordOf(config.store.url),
    ...Object.values(config.engine.claude.env), ...Object.values(config.engine.codex.env),
    ...Object.values(config.engine.gemini.env),
    ...SECRET_ENV.map((name) => env[name] ?? ''),
  ];
  // Short values would scrub ordinary words; no real credential is that short.
  return [...new Set(values.filter((v): v is string => typeof v === 'string' && v.length >= 8))];
}

function passwordOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).password);
  } catch {
    return '';
  }
}

export interface LoggerOptions {
  level: string;
  secrets: string[];
  /** File descriptor or path; stderr by default, so stdout stays free for the terminal chat. */
  destination?: number | string;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = [...options.secrets].sort((a, b) => b.length - a.length);
  const scrub = (line: string) => {
    for (const secret of secrets) if (line.includes(secret)) line = line.split(secret).join('[REDACTED]');
    return line;
  };
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: ['token', '*.token', 'apiKey', '*.apiKey', 'headers.authorization', '*.headers.authorization'], censor: '[REDACTED]' },
      hooks: { streamWrite: scrub },
    },
    pino.destination({ dest: options.destination ?? 2, sync: true, mkdir: true }),
  );
}

/** For tests and tools that want no output. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** A server URL fit for a log line or a message: its password replaced by ***. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}
