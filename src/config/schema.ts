/**
 * The configuration, as one strict schema: every key, its type and its default. The core's sections
 * are here; each platform's section comes from its definition in the registry (adapters/index.ts).
 * `config.example.toml` mirrors both; a key that is in neither stops start-up with a message naming it.
 */
import { z } from 'zod';
import { platforms } from '../../adapters/index.js';
import { isTimezone } from '../schedules/time.js';
import { id, ids } from './fields.js';

type Platforms = (typeof platforms)[number];
/** The registered platforms' names. */
export type PlatformName = Platforms['name'];
const platformNames = platforms.map((p) => p.name) as [PlatformName, ...PlatformName[]];

/** Each platform's own section, under its name, with its own defaults. */
function platformSections(): { [P in Platforms as P['name']]: z.ZodPrefault<P['config']> } {
  return Object.fromEntries(platforms.map((p) => [p.name, (p.config as z.ZodObject).prefault({})])) as never;
}

const seconds = z.number().positive();
const env = z.record(z.string(), z.string()).default({});

const gateway = z.strictObject({
  /** Folder for the database and the conversations' workspaces (relative to the config file). */
  data_dir: z.string().default('data'),
  log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** On SIGTERM/SIGINT, how long running answers may finish before their CLIs are stopped. */
  shutdown_grace_s: z.number().nonnegative().default(20),
  /** Appended to Claude's system prompt for every turn (after cligate's own short context). */
  system_prompt: z.string().default(''),
  /** Time zone of schedules for people who have not set theirs with /tz (an IANA name such as "Europe/Berlin"). */
  timezone: z.string().refine(isTimezone, 'an IANA time zone name such as "Europe/Berlin" or "UTC"').default('UTC'),
});

const store = z.strictObject({
  /** `sqlite`: one file, nothing to set up. `postgres`: the state several hosts share (store.url). */
  driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
  /** SQLite file; default `<data_dir>/cligate.db`. */
  path: z.string().default(''),
  /** PostgreSQL for the postgres driver, e.g. postgres://cligate:secret@db:5432/cligate (env DATABASE_URL). */
  url: z.string().default(''),
}).refine((s) => s.driver !== 'postgres' || /^postgres(ql)?:\/\//.test(s.url), {
  message: 'store.driver = "postgres" needs store.url = "postgres://user:password@host:5432/database" (or DATABASE_URL)',
  path: ['url'],
});

const queue = z.strictObject({
  /** `sqlite`: durable jobs in the same database, no Redis. `bullmq`: Redis, several worker processes. */
  driver: z.enum(['sqlite', 'bullmq']).default('sqlite'),
  /** Redis for the bullmq driver (env REDIS_URL). */
  redis_url: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix of the Redis keys and channels, so several gateways can share one Redis. */
  prefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, "_" and "-" only').default('cligate'),
});

const worker = z.strictObject({
  /** Conversations answered at the same time (messages of one conversation always run one by one). */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** A turn running longer than this is stopped (the CLI's whole process group is killed). */
  job_timeout_s: seconds.default(600),
  /** How long a crashed worker's conversation stays claimed before another worker takes it over. */
  lease_s: seconds.default(30),
  /** A message whose turn crashed the worker this many times is answered with an error instead. */
  max_attempts: z.number().int().min(1).default(3),
});

const retry = z.strictObject({
  /** Turns that failed with 429 (rate limit) or 529 (overloaded) are run again up to this many times. */
  attempts: z.number().int().min(0).default(2),
  /** Pause before each of those retries, in seconds (the last value repeats). */
  backoff_s: z.array(z.number().nonnegative()).min(1).default([10, 30]),
  /** Retries the CLI itself makes inside one turn (CLAUDE_CODE_MAX_RETRIES); its default of 10 takes 3 minutes. */
  cli_max_retries: z.number().int().min(0).default(2),
});

const workspace = z.strictObject({
  /** Each conversation works in its own folder under this root; default `<data_dir>/workspaces`. */
  root: z.string().default(''),
});

const permissionMode = z.enum(['default', 'acceptEdits', 'auto', 'bypassPermissions', 'dontAsk', 'plan']);

const claude = z.strictObject({
  /** Path of the `claude` binary; default: the one npm installed with cligate. */
  path: z.string().default(''),
  /** `--model`; empty: the CLI's default. */
  model: z.string().default(''),
  /**
   * Mode of new conversations (`/mode` changes it per conversation): "default" asks in the chat before
   * a command or an edit, "acceptEdits" edits unasked, "plan" only plans, "bypassPermissions" never asks.
   */
  permission_mode: permissionMode.default('default'),
  /** `--allowedTools`, e.g. ["Bash(git *)", "Edit"]: these run without asking. */
  allowed_tools: z.array(z.string()).default([]),
  /** `--disallowedTools`. */
  disallowed_tools: z.array(z.string()).default([]),
  /** `--max-turns`; 0: no limit. */
  max_turns: z.number().int().min(0).default(0),
  /** Extra arguments passed to every run, before the prompt. */
  extra_args: z.array(z.string()).default([]),
  /** Extra environment for the CLI (e.g. ANTHROPIC_BASE_URL). Values are never logged. */
  env,
});

const otherEngine = (defaultModel: string) => z.strictObject({
  enabled: z.boolean().default(false),
  /** Path of the binary; default: the one npm installed as an optional dependency. */
  path: z.string().default(''),
  model: z.string().default(defaultModel),
  extra_args: z.array(z.string()).default([]),
  env,
});

const engineName = z.enum(['claude', 'codex', 'gemini']);

const engines = z.strictObject({
  /** Engine of new conversations: claude, codex or gemini (must be enabled). */
  default: engineName.default('claude'),
  /** A different default per channel, e.g. { telegram = "codex" }. */
  channels: z.partialRecord(z.enum(platformNames), engineName).default({}),
  claude: claude.prefault({}),
  codex: otherEngine('').prefault({}),
  gemini: otherEngine('gemini-2.5-flash').prefault({}),
});

const live = z.strictObject({
  /** Keep one CLI process per active conversation so follow-ups skip the CLI's start-up. */
  enabled: z.boolean().default(true),
  /** A live process idle this long is stopped. */
  idle_timeout_s: seconds.default(600),
  /** At most this many live processes; the least recently used idle one is stopped first. */
  max_processes: z.number().int().min(1).default(8),
  /**
   * Claude processes started ahead of need, each holding a fresh session (`--session-id`), so a new
   * conversation's first message or the first after /new skips the CLI's start-up. Counted within
   * max_processes, and started only when there is room. 0: none.
   */
  spares: z.number().int().min(0).default(1),
});

const limits = z.strictObject({
  /** Longer prompts are refused with a message saying the limit. */
  max_message_chars: z.number().int().positive().default(20_000),
  /** Per user; 0: unlimited. */
  messages_per_minute: z.number().int().min(0).default(20),
  /** Per user, from the cost the CLI reports; 0: unlimited. */
  budget_usd_per_day: z.number().min(0).default(0),
});

const outbox = z.strictObject({
  /** A reply the platform keeps refusing (5xx, 429, network) is retried until this deadline. */
  deadline_s: seconds.default(24 * 3600),
});

const memory = z.strictObject({
  enabled: z.boolean().default(true),
  /** A transformers.js feature-extraction model (ONNX), by hub id or local folder name. */
  model: z.string().default('Xenova/all-MiniLM-L6-v2'),
  /** Which ONNX weights to load: q8 (quantized, onnx/model_quantized.onnx), fp16, fp32 (onnx/model.onnx). */
  dtype: z.enum(['q8', 'q4', 'fp16', 'fp32']).default('q8'),
  /** Where models are looked for and cached; default `<data_dir>/models`. */
  cache_dir: z.string().default(''),
  /** Load only from cache_dir, never from the network. */
  offline: z.boolean().default(false),
  /** `conversation`: each conversation remembers alone. `user`: one person's memories cross conversations. */
  scope: z.enum(['conversation', 'user']).default('conversation'),
  /** After each answer: store nothing, a short note of the exchange, or only sentences that state facts. */
  auto: z.enum(['off', 'exchange', 'facts']).default('exchange'),
  top_k: z.number().int().min(1).max(50).default(5),
  /** Cosine similarity below which a memory is not recalled. */
  min_score: z.number().min(-1).max(1).default(0.3),
  /** Characters of memories added to the system prompt at most. */
  char_budget: z.number().int().min(0).default(2000),
  /** Cosine similarity above which a new memory merges into an existing one. */
  dedupe_threshold: z.number().min(0).max(1).default(0.95),
  /**
   * Claude's own remember/recall/forget tools: "http" (served by the worker on loopback; instant),
   * "stdio" (`cligate mcp`, started by the CLI; about half a second before each CLI's first answer), or "off".
   */
  mcp: z.enum(['http', 'stdio', 'off']).default('http'),
});

/** Voice notes and audio files, transcribed before the turn (src/voice/). */
const voice = z.strictObject({
  /** "local": Whisper through transformers.js on this machine. "openai": an OpenAI-compatible /v1/audio/transcriptions. "command": a program given a 16 kHz WAV. "off": voice notes are refused with a reply. */
  backend: z.enum(['local', 'openai', 'command', 'off']).default('local'),
  /** Longer notes are refused with a reply. */
  max_seconds: z.number().positive().default(300),
  /** Larger audio files are refused with a reply (the platform's max_file_mb applies first). */
  max_mb: z.number().positive().default(20),
  /** A transcription taking longer fails the message with a reply (it can be sent again). */
  timeout_s: seconds.default(120),
  /** The command backend: argv; "{wav}" is replaced by the 16 kHz mono WAV's path (else it is added last). It prints the text. */
  command: z.array(z.string()).default([]),
  local: z.strictObject({
    /** A transformers.js automatic-speech-recognition model (ONNX Whisper), by hub id or folder name under cache_dir. */
    model: z.string().default('onnx-community/whisper-base'),
    /** Spoken language for multilingual models ("english", "german"...); "" = detect. */
    language: z.string().default(''),
    dtype: z.enum(['q8', 'q4', 'fp16', 'fp32']).default('q8'),
    /** Where models are looked for and cached; "" = memory.cache_dir (<data_dir>/models). */
    cache_dir: z.string().default(''),
    /** Load only from cache_dir, never from the network. */
    offline: z.boolean().default(false),
  }).prefault({}),
  openai: z.strictObject({
    /** The server's base URL (…/v1/audio/transcriptions is added): OpenAI, Groq, a local faster-whisper server. */
    url: z.string().default('https://api.openai.com'),
    api_key: z.string().default(''),
    model: z.string().default('whisper-1'),
  }).prefault({}),
});

const platformIds = z.partialRecord(z.enum(platformNames), ids).default({});

const approvals = z.strictObject({
  /** A request nobody answers in this time is denied, and the chat says so. */
  timeout_s: seconds.default(600),
  /** Besides the person whose message started the turn, these users may answer requests, per platform: { slack = ["U123"] }. */
  approvers: platformIds,
  /** Users who may switch a conversation to `/mode auto` (every tool runs unasked), per platform. */
  admins: platformIds,
});

const sandbox = z.strictObject({
  /**
   * How each conversation's CLI is contained. "bwrap": bubblewrap shows it its own workspace and CLI
   * home, the system read-only, a private /tmp, and none of the gateway's files (start-up fails without
   * it). "auto": bubblewrap where it works, else "none" with a warning. "none": the CLI runs with the
   * gateway's rights (it still gets a clean environment and a CLI home of its own).
   */
  mode: z.enum(['auto', 'bwrap', 'none']).default('auto'),
  /**
   * Start every CLI as this Unix user (name or uid) instead of the gateway's: for machines where
   * bubblewrap cannot run. The gateway must run as root; it hands each workspace and CLI home to that user.
   */
  run_as_user: z.string().default(''),
});

/** Terminal tabs in the web app: a shell, `claude` or `codex` in a conversation's workspace (src/terminal). */
const terminal = z.strictObject({
  /** Who may open a shell tab: "admins" (admin API keys), "users" (anyone who may write the conversation), "off". */
  shell: z.enum(['admins', 'users', 'off']).default('admins'),
  /** Open terminals when the sandbox resolves to none (each would run with the gateway's rights): off unless set. */
  allow_unsandboxed: z.boolean().default(false),
  /** Output kept per tab for a viewer who (re)attaches, in KiB. */
  scrollback_kb: z.number().int().min(1).max(16384).default(256),
  /** A tab with no viewer and no output for this long is closed (its processes killed), in seconds. */
  idle_timeout_s: seconds.default(1800),
  /** Tabs one user may have open at once, across conversations. */
  max_per_user: z.number().int().min(0).default(4),
});

/** People known on several platforms: their memories and budgets are shared when scope is "user". */
const schedule = z.strictObject({
  /** Occurrences missed while the gateway was down: "one" runs the schedule once at start, "none" skips them (and says so in the chat). */
  catch_up: z.enum(['one', 'none']).default('one'),
  /** Schedules one person may have (active or paused). */
  max_per_person: z.number().int().min(0).default(20),
  /** Shortest time between two runs of a recurring schedule, in seconds. */
  min_interval_s: z.number().positive().default(300),
  /** A schedule whose runs fail this many times in a row is paused, and the chat is told. */
  pause_after_failures: z.number().int().min(1).default(3),
});

/** An endpoint at /hooks/<path> whose signed deliveries become messages of one conversation. */
const webhook = z.strictObject({
  /** Under /hooks/: "github" is served at /hooks/github. */
  path: z.string().regex(/^\/?(hooks\/)?[A-Za-z0-9][\w.-]*$/, 'a name such as "github" (served at /hooks/github)').transform((p) => p.replace(/^\/?(hooks\/)?/, '')),
  /** The shared secret: GitHub's webhook secret, or the bearer token. */
  secret: z.string().min(16, 'at least 16 characters'),
  /** "github": X-Hub-Signature-256 (HMAC-SHA256 of the body). "bearer": an `Authorization: Bearer <secret>` header. */
  kind: z.enum(['github', 'bearer']),
  /** The full conversation id the turn runs in, e.g. "telegram:123456789" or "http:owner:builds". */
  conversation: z.string().regex(/^[a-z]+:[^:\s]+(:[^\s]+)?$/, 'a full conversation id such as "telegram:123456789"'),
  /** The prompt, with fields of the JSON payload: "New issue {{issue.title}}: {{issue.body}}" (missing fields are empty). */
  template: z.string().min(1),
  /** GitHub: the X-GitHub-Event values to run for (others get 202 and nothing runs); empty: all. */
  events: z.array(z.string()).default([]),
  /** The platform user id the turn runs as (budgets, approvals); default: the conversation's chat id. */
  user: id.optional(),
});

const person = z.strictObject(
  Object.fromEntries(platformNames.map((name) => [name, id.optional()])) as { [N in PlatformName]: z.ZodOptional<typeof id> },
);

export const configSchema = z.strictObject({
  gateway: gateway.prefault({}),
  store: store.prefault({}),
  queue: queue.prefault({}),
  worker: worker.prefault({}),
  retry: retry.prefault({}),
  workspace: workspace.prefault({}),
  engine: engines.prefault({}),
  live: live.prefault({}),
  limits: limits.prefault({}),
  outbox: outbox.prefault({}),
  ...platformSections(),
  memory: memory.prefault({}),
  voice: voice.prefault({}),
  approvals: approvals.prefault({}),
  sandbox: sandbox.prefault({}),
  schedule: schedule.prefault({}),
  terminal: terminal.prefault({}),
  webhooks: z.array(webhook).default([]).superRefine((hooks, ctx) => {
    const seen = new Set<string>();
    hooks.forEach((h, i) => {
      if (seen.has(h.path)) ctx.addIssue({ code: 'custom', path: [i, 'path'], message: `"${h.path}" is used by two webhooks` });
      seen.add(h.path);
    });
  }),
  people: z.record(z.string(), person).default({}),
});

export type Config = z.infer<typeof configSchema>;
export type EngineName = Config['engine']['default'];
export type WebhookConfig = Config['webhooks'][number];

/** A per-platform setting (engine.channels, approvals.approvers), read with the platform name a message carries. */
export function forPlatform<T>(record: Partial<Record<PlatformName, T>>, platform: string): T | undefined {
  return (record as Partial<Record<string, T>>)[platform];
}
