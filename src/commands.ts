/**
 * Slash commands, the same on every platform: parsed here from the message text, answered here,
 * never sent to the engine. Adapters only translate their platform's form (`/new@bot`, Slack's
 * `/claude new`, Discord's application commands) into this text.
 */
import fs from 'node:fs';
import path from 'node:path';
import { modeOfCli, PERMISSION_MODES, type PermissionMode } from './approvals/types.js';
import type { BusEvent } from './bus.js';
import type { Config, EngineName } from './config/schema.js';
import type { Conversation, Session } from './store/db.js';
import { engineOf } from './engine/index.js';
import type { Store } from './store/index.js';
import { forgetHomes } from './sandbox/homes.js';
import { scheduleCommands } from './schedules/commands.js';
import { resolveInside, workspacePath } from './workspace.js';
import { voiceStatus } from './voice/index.js';

export interface CommandSpec {
  name: string;
  args?: string;
  description: string;
  /** Its name is an everyday word ("in", "at"): where a command is written without its slash (Slack's `/claude in ...`), it needs one. */
  word?: boolean;
}

/** Every command, in the order /help and the platforms' menus show them. */
export const COMMANDS: CommandSpec[] = [
  { name: 'new', description: 'Start a fresh Claude session (the old one is kept)' },
  { name: 'session', args: '[list | use <id>]', description: "Show this conversation's session, list them, or switch" },
  { name: 'stop', description: 'Stop the answer being written (and drop queued messages)' },
  { name: 'status', description: 'Queue, workers and this conversation' },
  { name: 'forget', args: '[confirm | <memory id>]', description: "Delete this conversation's sessions and memories, or one memory" },
  { name: 'remember', args: '<text>', description: 'Store a fact in long-term memory' },
  { name: 'memory', args: '[<query>]', description: 'Recent memories, or search them' },
  { name: 'engine', args: '[claude | codex | gemini]', description: "Show or switch this conversation's engine" },
  { name: 'mode', args: '[ask | edits | plan | auto]', description: 'What Claude may do without asking you here' },
  { name: 'permissions', args: '[remove <n>]', description: 'Tools you allowed in this conversation' },
  { name: 'file', args: '<path>', description: "Send a file from this conversation's workspace" },
  { name: 'every', args: '<when> <prompt>', description: 'Run a prompt here on a schedule (cron, "weekdays at 9:00", "every 30 minutes")', word: true },
  { name: 'at', args: '<when> <prompt>', description: 'Run a prompt here once, e.g. "tomorrow at 8am"', word: true },
  { name: 'in', args: '<duration> <prompt>', description: 'Run a prompt here after a while, e.g. "2 hours"', word: true },
  { name: 'jobs', args: '[cancel | pause | resume <id>]', description: "This conversation's schedules: next run, last outcome" },
  { name: 'tz', args: '[<zone>]', description: 'Your time zone for schedules, e.g. Europe/Berlin' },
  { name: 'help', description: 'What I can do' },
];

export interface ParsedCommand {
  name: string;
  args: string;
}

/** `/name args`: a slash, a word, then anything. "/usr/bin is..." is not a command. */
export function parseCommand(text: string): ParsedCommand | undefined {
  const m = /^\/([A-Za-z][\w-]*)(?:@[\w.-]+)?(?:\s+([\s\S]*))?$/.exec(text.trim());
  if (!m) return undefined;
  return { name: m[1]!.toLowerCase(), args: (m[2] ?? '').trim() };
}

export interface CommandContext {
  store: Store;
  config: Config;
  conversation: Conversation;
  userKey: string;
  messageId: number;
  enabledEngines: EngineName[];
  /** Commands provided by optional parts (memory), by name. */
  extensions: Map<string, CommandHandler>;
}

export interface CommandResult {
  text: string;
  /** Only the person who asked sees it, where the platform can do that. */
  ephemeral?: boolean;
  /** Published on the bus once the result is stored. */
  events?: BusEvent[];
  /** A workspace file to send (for /file). */
  file?: { path: string; name: string };
}

export type CommandHandler = (args: string, ctx: CommandContext) => Promise<CommandResult> | CommandResult;

const HANDLERS: Record<string, CommandHandler> = {
  help: () => ({ text: helpText(), ephemeral: true }),
  new: newSession,
  session,
  stop,
  status,
  forget: forgetSessions,
  engine,
  remember: notAvailable('remember'),
  memory: notAvailable('memory'),
  file: sendFile,
  mode,
  permissions,
  ...Object.fromEntries(scheduleCommands()),
};

/** Largest file /file sends (Telegram bots can send up to 50 MB). */
const MAX_SEND_BYTES = 50 * 1024 * 1024;

export async function runCommand(command: ParsedCommand, ctx: CommandContext): Promise<CommandResult> {
  const handler = ctx.extensions.get(command.name) ?? HANDLERS[command.name];
  if (!handler) {
    return {
      text: `Unknown command /${command.name}. Commands: ${COMMANDS.map((c) => `/${c.name}`).join(' ')}. Send /help for details; anything that is not a command goes to Claude.`,
      ephemeral: true,
    };
  }
  return handler(command.args, ctx);
}

export function helpText(): string {
  const lines = COMMANDS.map((c) => `• \`/${c.name}${c.args ? ' ' + c.args : ''}\`: ${c.description}`);
  return ['Write anything and Claude Code answers, in this conversation\'s own session and folder.', '', ...lines].join('\n');
}

function newSession(_args: string, ctx: CommandContext): CommandResult {
  const { store, conversation } = ctx;
  const previous = store.conversations.activeSession(conversation);
  store.conversations.detachSession(conversation.id);
  return {
    text: previous
      ? `Started a new session: your next message begins a fresh conversation with Claude. The previous one (#${previous.id}, ${plural(previous.turns, 'turn')}) is kept: \`/session list\`.`
      : 'Started a new session: your next message begins a fresh conversation with Claude.',
    events: [{ type: 'release', conversationId: conversation.id, session: true }],
  };
}

function session(args: string, ctx: CommandContext): CommandResult {
  const { store, conversation } = ctx;
  const [sub, target] = args.split(/\s+/);
  if (!sub) {
    const active = store.conversations.activeSession(conversation);
    if (!active) return { text: 'No session yet: your next message starts one.' };
    return { text: describeSession(active, true) };
  }
  if (sub === 'list') {
    const all = store.conversations.sessions(conversation.id);
    if (!all.length) return { text: 'No sessions yet: your next message starts one.' };
    return { text: all.map((s) => describeSession(s, s.id === conversation.active_session_id)).join('\n') + '\n\nSwitch with `/session use <id>`.' };
  }
  if (sub === 'use') {
    if (!target) return { text: 'Which one? `/session use <id>`, with an id from `/session list`.' };
    const all = store.conversations.sessions(conversation.id);
    const wanted = target.replace(/^#/, '');
    const match = all.find((s) => String(s.id) === wanted) ?? all.find((s) => s.engine_session_id?.startsWith(wanted));
    if (!match) return { text: `There is no session ${target} in this conversation. \`/session list\` shows them.` };
    store.conversations.useSession(conversation.id, match.id);
    // A session belongs to its engine: using it means using that engine.
    if (match.engine !== engineOf(ctx.config, conversation)) store.conversations.setEngine(conversation.id, match.engine);
    return { text: `Switched to session #${match.id} (${match.engine}): your next message continues it.`, events: [{ type: 'release', conversationId: conversation.id, session: true }] };
  }
  return { text: `Unknown option "${sub}". Use \`/session\`, \`/session list\` or \`/session use <id>\`.` };
}

function describeSession(s: Session, active: boolean): string {
  const id = s.engine_session_id ? `\`${s.engine_session_id}\`` : '(not started)';
  return `${active ? '▶' : '•'} #${s.id} ${s.engine} ${id}: ${plural(s.turns, 'turn')}, $${s.cost_usd.toFixed(4)}, last used ${ago(s.last_used_at)}`;
}

function engine(args: string, ctx: CommandContext): CommandResult {
  const { store, config, conversation, enabledEngines } = ctx;
  const current = engineOf(config, conversation);
  const wanted = args.trim().toLowerCase() as EngineName;
  if (!wanted) return { text: `This conversation uses ${current}. Enabled here: ${enabledEngines.join(', ')}. Switch with \`/engine <name>\`.` };
  if (!enabledEngines.includes(wanted)) {
    const known = ['claude', 'codex', 'gemini'].includes(wanted);
    return { text: known ? `${wanted} is not enabled on this gateway (engine.${wanted}.enabled in the config). Enabled: ${enabledEngines.join(', ')}.` : `There is no engine "${wanted}". Enabled: ${enabledEngines.join(', ')}.` };
  }
  if (wanted === current) return { text: `Already using ${current}.` };
  // Each engine keeps its own sessions: come back to the latest one of the new engine, if any.
  const latest = store.conversations.sessions(conversation.id).filter((s) => s.engine === wanted).at(-1);
  store.conversations.setEngine(conversation.id, wanted);
  if (latest) store.conversations.useSession(conversation.id, latest.id);
  else store.conversations.detachSession(conversation.id);
  return {
    text: `Switched to ${wanted}${latest ? `, continuing its session #${latest.id}` : '; your next message starts its session'}. The ${current} session is kept (\`/session list\`, \`/engine ${current}\`).`,
    events: [{ type: 'release', conversationId: conversation.id, session: true }],
  };
}

function mode(args: string, ctx: CommandContext): CommandResult {
  const { store, config, conversation } = ctx;
  const engineName = engineOf(config, conversation);
  const current: PermissionMode = (conversation.permission_mode as PermissionMode | null) ?? modeOfCli(config.engine.claude.permission_mode);
  const list = (Object.keys(PERMISSION_MODES) as PermissionMode[]).map((m) => `• \`${m}\`${m === current ? ' (now)' : ''}: ${PERMISSION_MODES[m].says}`).join('\n');
  const otherEngine = engineName === 'claude' ? '' : `\n\n_This conversation uses ${engineName}, whose headless mode cannot ask: its approval settings stay in the config (engine.${engineName}.extra_args). Modes apply to Claude._`;
  const wanted = args.trim().toLowerCase();
  if (!wanted) return { text: `Mode: **${current}**. ${PERMISSION_MODES[current].says}\n\n${list}\n\nSwitch with \`/mode <name>\`.${otherEngine}` };
  if (!(wanted in PERMISSION_MODES)) return { text: `There is no mode "${wanted}". Modes:\n${list}` };
  const next = wanted as PermissionMode;
  if (next === 'auto') {
    const userId = store.messages.get(ctx.messageId)?.user_id ?? '';
    const admins = config.approvals.admins[conversation.platform as keyof typeof config.approvals.admins] ?? [];
    if (!admins.includes(userId)) {
      return { text: `Only an admin can switch to auto (every tool runs without asking). The gateway's owner can add your id (${userId}) to approvals.admins.${conversation.platform}.` };
    }
  }
  store.approvals.setMode(conversation.id, next);
  return {
    text: `Mode: **${next}**. ${PERMISSION_MODES[next].says}${otherEngine}`,
    // A live CLI keeps its mode for life: the next message starts one in the new mode.
    events: [{ type: 'release', conversationId: conversation.id }],
  };
}

function permissions(args: string, ctx: CommandContext): CommandResult {
  const { store, conversation, config } = ctx;
  const rules = store.approvals.rules(conversation.id);
  const [sub, n] = args.trim().split(/\s+/);
  if (sub === 'remove') {
    const index = Number(n);
    const rule = Number.isInteger(index) ? rules[index - 1] : undefined;
    if (!rule) return { text: rules.length ? `Which one? \`/permissions remove <n>\` with n from 1 to ${rules.length}.` : 'Nothing is allowed in this conversation yet.' };
    store.approvals.removeRule(rule.id);
    return { text: `Removed \`${rule.rule}\`: Claude asks again next time.`, events: [{ type: 'release', conversationId: conversation.id }] };
  }
  if (sub) return { text: 'Use `/permissions` to list, or `/permissions remove <n>`.' };
  const fromConfig = config.engine.claude.allowed_tools.length ? `\n\nAllowed for every conversation (engine.claude.allowed_tools): ${config.engine.claude.allowed_tools.map((r) => `\`${r}\``).join(', ')}.` : '';
  if (!rules.length) return { text: `Nothing is allowed in this conversation yet: press "Allow in this conversation" on a request to keep it.${fromConfig}` };
  const list = rules.map((r, i) => `${i + 1}. \`${r.rule}\` (by ${r.created_by}, ${ago(r.created_at)})`).join('\n');
  return { text: `Allowed in this conversation without asking:\n${list}\n\nRemove one with \`/permissions remove <n>\`.${fromConfig}` };
}

function stop(_args: string, ctx: CommandContext): CommandResult {
  const { running, dropped } = ctx.store.messages.requestCancel(ctx.conversation.id);
  if (!running && !dropped.length) return { text: 'Nothing is running in this conversation.' };
  const parts = [];
  if (running) parts.push('Stopping the answer being written.');
  if (dropped.length) parts.push(`Dropped ${plural(dropped.length, 'queued message')}.`);
  const conversationId = ctx.conversation.id;
  const ended = dropped.map((messageId): BusEvent => ({ type: 'finished', conversationId, messageId, status: 'cancelled', text: '', costUsd: 0, durationMs: 0, errorCode: 'cancelled' }));
  return { text: parts.join(' '), events: [{ type: 'stop', conversationId }, ...ended] };
}

function status(_args: string, ctx: CommandContext): CommandResult {
  const { store, config, conversation } = ctx;
  const all = store.messages.counts();
  const here = store.messages.counts(conversation.id);
  const active = store.conversations.activeSession(conversation);
  const engine = conversation.engine ?? config.engine.default;
  const lines = [
    `Queue (${config.queue.driver}): ${plural(all.queued, 'message')} waiting, ${all.running} being answered; up to ${config.worker.concurrency} conversations at once per worker.`,
    `This conversation: ${here.running ? 'answering now' : 'idle'}${here.queued ? `, ${here.queued} waiting` : ''}. Engine: ${engine}.`,
    active ? `Session #${active.id}: ${plural(active.turns, 'turn')}, $${active.cost_usd.toFixed(4)}.` : 'No session yet.',
    `Replies waiting for delivery: ${store.outbox.pendingCount()}.`,
    `Voice notes: ${voiceStatus(config.voice)}.`,
  ];
  const schedules = store.schedules.counts(conversation.id);
  const hooks = config.webhooks.filter((h) => h.conversation === conversation.id).length;
  if (schedules.active || schedules.paused || hooks) {
    lines.push(`Schedules here: ${schedules.active} active${schedules.paused ? `, ${schedules.paused} paused` : ''} (\`/jobs\`). Webhooks into this conversation: ${hooks}.`);
  }
  return { text: lines.join('\n') };
}

function forgetSessions(args: string, ctx: CommandContext): CommandResult {
  if (args !== 'confirm') {
    return { text: "This deletes this conversation's Claude sessions and its memories. Send `/forget confirm` to go ahead." };
  }
  const removed = ctx.store.conversations.deleteSessions(ctx.conversation.id);
  forgetHomes(ctx.config.gateway.data_dir, ctx.conversation.id);
  return {
    text: `Forgotten: ${plural(removed, 'session')} deleted. Your next message starts afresh.`,
    events: [{ type: 'release', conversationId: ctx.conversation.id, session: true, forget: true }],
  };
}

function sendFile(args: string, ctx: CommandContext): CommandResult {
  if (!args) return { text: "Which file? `/file <path>`, with a path inside this conversation's workspace.", ephemeral: true };
  const resolved = resolveInside(workspacePath(ctx.config.workspace.root, ctx.conversation.id), args);
  if (!resolved.ok) return { text: resolved.error, ephemeral: true };
  const stat = fs.statSync(resolved.path);
  if (!stat.isFile()) return { text: `${resolved.relative || args} is a folder, not a file.`, ephemeral: true };
  if (stat.size > MAX_SEND_BYTES) return { text: `${resolved.relative} is ${(stat.size / 1024 / 1024).toFixed(1)} MB; files up to 50 MB can be sent.`, ephemeral: true };
  return { text: resolved.relative, file: { path: resolved.path, name: path.basename(resolved.path) } };
}

function notAvailable(name: string): CommandHandler {
  return () => ({ text: `/${name} is not available on this gateway.`, ephemeral: true });
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function ago(at: number): string {
  const s = Math.max(0, Math.round((Date.now() - at) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
