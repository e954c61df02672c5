/**
 * Long-term memory: what cligate remembers beyond Claude's own session, embedded locally and kept in
 * SQLite. Before each turn the incoming message recalls the most similar memories of its scope
 * into the turn's context; after each answer a short memory of it may be stored; `/remember`,
 * `/memory`, `/forget` and Claude's own tools (`cligate mcp`) read and write it.
 *
 * Scope: the conversation (default), or with memory.scope = "user" one person's memories across
 * their conversations and channels. If the model cannot be loaded, memory is off and says why;
 * answers go on without it.
 */
import type { CommandContext, CommandHandler, CommandResult } from '../commands.js';
import { plural } from '../commands.js';
import type { Config } from '../config/schema.js';
import type { GatewayExtension } from '../gateway.js';
import type { Logger } from '../log.js';
import { CLI_ENTRY } from '../paths.js';
import { forgetHomes } from '../sandbox/homes.js';
import type { Conversation, Message, MemoryRow } from '../store/db.js';
import type { Store } from '../store/index.js';
import type { TurnHooks } from '../worker.js';
import { Embedder } from './embedder.js';
import type { MemoryMcpHttp } from './mcp.js';
import { MemoryStore } from './store.js';

/** How long a turn waits for the model to finish loading before going on without memory. */
const READY_WAIT_MS = 10_000;
const HEADING = 'Long-term memory (cligate recalled these from earlier messages; most relevant first):';

export interface MemoryOptions {
  config: Config;
  store: Store;
  log: Logger;
  /** Where the config was read from, for the MCP server Claude starts. */
  configFile?: string;
}

export class Memory {
  private readonly embedder: Embedder;
  private memories?: MemoryStore;
  private failure?: string;
  private readonly loaded: Promise<void>;
  private mcpHttp?: MemoryMcpHttp;
  private mcpStarting?: Promise<void>;

  constructor(private readonly options: MemoryOptions) {
    const m = options.config.memory;
    this.embedder = new Embedder({ model: m.model, cacheDir: m.cache_dir, offline: m.offline, dtype: m.dtype });
    this.loaded = this.embedder.ready.then((state) => {
      if (state.ok) {
        this.memories = new MemoryStore(options.store.db, m.model, state.dimension);
        options.log.info({ model: m.model, dimension: state.dimension }, 'memory: embedding model loaded');
      } else {
        this.failure = `Long-term memory is off: ${state.error} Answers go on without it.`;
        options.log.warn(this.failure);
      }
    });
  }

  /** The memory store once the model is loaded; undefined while loading (after a wait) or when it failed. */
  async available(waitMs = READY_WAIT_MS): Promise<MemoryStore | undefined> {
    await Promise.race([this.loaded, new Promise((r) => setTimeout(r, waitMs).unref())]);
    return this.memories;
  }

  /** Why memory is off, if it is. */
  get problem(): string | undefined {
    return this.failure;
  }

  scopeOf(conversationId: string, userKey: string): string {
    return this.options.config.memory.scope === 'user' ? `user:${userKey}` : `conversation:${conversationId}`;
  }

  async embed(text: string): Promise<Float32Array> {
    const [vector] = await this.embedder.embed([text]);
    return vector!;
  }

  /** Stores a memory (merging near-duplicates); undefined when memory is off. */
  async remember(text: string, scope: string, source: MemoryRow['source'], conversationId: string | null, userKey: string) {
    const memories = await this.available();
    if (!memories) return undefined;
    return memories.add({ scope, text, source, conversationId, userKey }, await this.embed(text), this.options.config.memory.dedupe_threshold);
  }

  async recall(query: string, scope: string, k = this.options.config.memory.top_k) {
    const memories = await this.available();
    if (!memories) return [];
    return memories.search(scope, await this.embed(query), k, this.options.config.memory.min_score);
  }

  extension(): GatewayExtension {
    return {
      commands: new Map<string, CommandHandler>([
        ['remember', (args, ctx) => this.rememberCommand(args, ctx)],
        ['memory', (args, ctx) => this.memoryCommand(args, ctx)],
        ['forget', (args, ctx) => this.forgetCommand(args, ctx)],
      ]),
      hooks: this.hooks(),
      close: () => this.close(),
    };
  }

  async close(): Promise<void> {
    await this.mcpHttp?.close();
    await this.embedder.close();
  }

  /** Starts the loopback MCP endpoint for Claude's memory tools, once (memory.mcp = "http"). */
  private prepareMcp(): Promise<void> {
    if (this.options.config.memory.mcp !== 'http') return Promise.resolve();
    this.mcpStarting ??= import('./mcp.js').then(async ({ MemoryMcpHttp }) => {
      const server = new MemoryMcpHttp(this, this.options.config.memory.top_k);
      await server.start();
      this.mcpHttp = server;
    }).catch((err) => this.options.log.warn({ err }, 'memory: the MCP endpoint did not start; Claude gets no memory tools'));
    return this.mcpStarting;
  }

  private hooks(): TurnHooks {
    const { config } = this.options;
    return {
      context: async (message, conversation) => {
        const found = await this.recall(message.text, this.scopeOf(conversation.id, message.user_key));
        if (this.memories) await this.prepareMcp();
        if (!found.length) return [];
        this.memories?.touch(found.map((f) => f.id));
        const items: string[] = [];
        let size = HEADING.length;
        for (const memory of found) {
          const item = `- ${memory.text} (#${memory.id}, ${new Date(memory.updated_at).toISOString().slice(0, 10)})`;
          if (size + item.length + 1 > config.memory.char_budget) break;
          items.push(item);
          size += item.length + 1;
        }
        return items.length ? [{ heading: HEADING, items }] : [];
      },
      mcpConfig: (message, conversation) => (this.memories ? this.mcpConfig(message, conversation) : undefined),
      mcpSpare: (message, conversation) => {
        const server = this.mcpHttp;
        if (!this.memories || !server) return undefined;
        return {
          reserve: () => JSON.stringify({ mcpServers: { memory: { type: 'http', url: server.reserve() } } }),
          adopt: (config) => {
            const url = (JSON.parse(config) as { mcpServers?: { memory?: { url?: string } } }).mcpServers?.memory?.url;
            return !!url && server.adopt(url, this.bindingOf(message, conversation));
          },
        };
      },
      answered: async (message, conversation, answer) => {
        const texts = automaticMemories(config.memory.auto, message.text, answer);
        for (const text of texts) await this.remember(text, this.scopeOf(conversation.id, message.user_key), 'automatic', conversation.id, message.user_key);
      },
    };
  }

  private bindingOf(message: Message, conversation: Conversation) {
    return { scope: this.scopeOf(conversation.id, message.user_key), conversationId: conversation.id, userKey: message.user_key };
  }

  /** Where Claude finds its memory tools for this turn, bound to the conversation's scope. */
  private mcpConfig(message: Message, conversation: Conversation): string | undefined {
    const binding = this.bindingOf(message, conversation);
    const mode = this.options.config.memory.mcp;
    if (mode === 'http') {
      return this.mcpHttp ? JSON.stringify({ mcpServers: { memory: { type: 'http', url: this.mcpHttp.urlFor(binding) } } }) : undefined;
    }
    if (mode === 'stdio') {
      const args = [CLI_ENTRY, 'mcp', '--scope', binding.scope, '--conversation', binding.conversationId, '--user', binding.userKey];
      if (this.options.configFile) args.push('--config', this.options.configFile);
      return JSON.stringify({
        mcpServers: { memory: { type: 'stdio', command: process.execPath, args, env: { CLIGATE_DATA_DIR: this.options.config.gateway.data_dir } } },
      });
    }
    return undefined;
  }

  private async rememberCommand(args: string, ctx: CommandContext): Promise<CommandResult> {
    if (!args) return { text: 'What should I remember? `/remember <a fact>`, e.g. `/remember I deploy with make release`.' };
    const result = await this.remember(args, this.scopeOf(ctx.conversation.id, ctx.userKey), 'explicit', ctx.conversation.id, ctx.userKey);
    if (!result) return { text: this.failure ?? 'Memory is still loading; try again in a moment.' };
    return { text: result.merged ? `I already knew something very close; memory #${result.id} now says that.` : `Remembered (#${result.id}).` };
  }

  private async memoryCommand(args: string, ctx: CommandContext): Promise<CommandResult> {
    const memories = await this.available();
    if (!memories) return { text: this.failure ?? 'Memory is still loading; try again in a moment.' };
    const scope = this.scopeOf(ctx.conversation.id, ctx.userKey);
    if (!args) {
      const recent = memories.recent(scope, 10);
      if (!recent.length) return { text: 'Nothing remembered here yet. `/remember <fact>` stores one.' };
      return { text: ['Recent memories (newest first):', ...recent.map((m) => `• #${m.id} ${m.text} _(${m.source}, ${age(m.updated_at)})_`)].join('\n') };
    }
    const found = memories.search(scope, await this.embed(args), 10, -1);
    if (!found.length) return { text: 'No memories here yet.' };
    return { text: [`Memories closest to "${args}":`, ...found.map((m) => `• #${m.id} (${m.score.toFixed(2)}) ${m.text}`)].join('\n') };
  }

  private async forgetCommand(args: string, ctx: CommandContext): Promise<CommandResult> {
    const idMatch = /^#?(\d+)$/.exec(args);
    if (idMatch) {
      const memories = await this.available();
      if (!memories) return { text: this.failure ?? 'Memory is still loading; try again in a moment.' };
      const id = Number(idMatch[1]);
      const scopes = [`conversation:${ctx.conversation.id}`, `user:${ctx.userKey}`];
      return { text: memories.remove(id, scopes) ? `Forgot memory #${id}.` : `There is no memory #${id} of yours here (\`/memory\` lists them).` };
    }
    const memories = await this.available(0);
    const count = memories?.countConversation(ctx.conversation.id) ?? 0;
    if (args !== 'confirm') {
      return { text: `This deletes this conversation's Claude sessions and its ${plural(count, 'memory', 'memories')}. Send \`/forget confirm\` to go ahead (\`/forget <id>\` deletes one memory).` };
    }
    const sessions = ctx.store.conversations.deleteSessions(ctx.conversation.id);
    forgetHomes(ctx.config.gateway.data_dir, ctx.conversation.id);
    const removed = memories?.removeConversation(ctx.conversation.id) ?? 0;
    return {
      text: `Forgotten: ${plural(sessions, 'session')} and ${plural(removed, 'memory', 'memories')} deleted. Your next message starts afresh.`,
      events: [{ type: 'release', conversationId: ctx.conversation.id, session: true, forget: true }],
    };
  }
}

/** What to store after an answer: nothing, a short note of the exchange, or the sentences stating facts. */
export function automaticMemories(mode: Config['memory']['auto'], prompt: string, answer: string): string[] {
  const question = prompt.trim();
  if (mode === 'off' || question.length < 8) return [];
  if (mode === 'exchange') return [`Asked: "${clip(question, 200)}". Answered: "${clip(answer.replace(/\s+/g, ' '), 300)}"`];
  const facts = question
    .split(/(?<=[.!?])\s+|\n+/)
    .map((s) => s.trim())
    .filter((s) => /\b(I am|I'm|I was|I have|I've|my|mine|I like|I love|I prefer|I hate|I work|I live|I use|call me|remember that)\b/i.test(s) && !s.endsWith('?'));
  return facts.map((fact) => `The user said: ${clip(fact, 300)}`);
}

function clip(text: string, max: number): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text;
}

function age(at: number): string {
  const minutes = Math.round((Date.now() - at) / 60_000);
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} h ago`;
  return `${Math.round(minutes / 1440)} days ago`;
}
