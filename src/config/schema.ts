/**
 * The configuration, as one strict schema: every key, its type and its default. `config.example.toml`
 * mirrors this file; a key that is not here stops start-up with a message naming it.
 */
import { z } from 'zod';

const id = z.union([z.string(), z.number().int()]).transform(String);
const ids = z.array(id).default([]);
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
});

const store = z.strictObject({
  /** SQLite file; default `<data_dir>/cligate.db`. */
  path: z.string().default(''),
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
  channels: z.partialRecord(z.enum(['local', 'http', 'telegram', 'slack', 'discord']), engineName).default({}),
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

const local = z.strictObject({
  /** User id of the terminal chat (`cligate chat`); the terminal is always allowed. */
  user: z.string().default('local'),
});

const telegram = z.strictObject({
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

const slack = z.strictObject({
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

const discord = z.strictObject({
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

const apiKey = z.strictObject({
  /** Who this key acts as: rate limits, budgets and memories apply to this id. */
  user: z.string().min(1),
  /** SHA-256 (hex) of the key. Generate one with `cligate key`. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lowercase hex characters (sha256 of the key)'),
});

const http = z.strictObject({
  /** The HTTP API, the web chat and the webhook endpoints. */
  enabled: z.boolean().default(true),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8787),
  /** API keys (hashed). With none, a key is made at first start and printed once. */
  api_keys: z.array(apiKey).default([]),
  /** Origins allowed by CORS; empty: CORS off. */
  cors_origins: z.array(z.string()).default([]),
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

const platformIds = z.partialRecord(z.enum(['local', 'http', 'telegram', 'slack', 'discord']), ids).default({});

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

/** People known on several platforms: their memories and budgets are shared when scope is "user". */
const person = z.strictObject({
  telegram: id.optional(),
  slack: id.optional(),
  discord: id.optional(),
  http: z.string().optional(),
  local: z.string().optional(),
});

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
  local: local.prefault({}),
  telegram: telegram.prefault({}),
  slack: slack.prefault({}),
  discord: discord.prefault({}),
  http: http.prefault({}),
  memory: memory.prefault({}),
  approvals: approvals.prefault({}),
  sandbox: sandbox.prefault({}),
  people: z.record(z.string(), person).default({}),
});

export type Config = z.infer<typeof configSchema>;
export type EngineName = Config['engine']['default'];
