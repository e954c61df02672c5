/**
 * Claude's own memory tools (remember, recall, forget), as an MCP server bound to one scope. Two
 * ways to reach it, chosen with memory.mcp:
 *
 * - "http" (default): the worker serves it on a loopback port, one URL per conversation (a random
 *   token in the path binds the scope). The CLI connects in milliseconds and the worker's embedder
 *   is shared.
 * - "stdio": `cligate mcp`, a process the CLI starts itself. It works anywhere MCP clients do, but
 *   the CLI waits for it to start (about half a second) before its first answer.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';
import type { LoadedConfig } from '../config/load.js';
import { silentLogger } from '../log.js';
import { Store } from '../store/index.js';
import { Memory } from './index.js';

export interface McpBinding {
  scope: string;
  conversationId: string;
  userKey: string;
}

/** An MCP server with the memory tools, for one scope. */
export function memoryTools(memory: () => Memory, binding: McpBinding, topK: number): McpServer {
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  const unbound = () => text('This memory connection is not bound to a conversation yet.');
  const unavailable = () => (binding.scope ? text(memory().problem ?? 'Memory is still loading; try again in a moment.') : unbound());
  const server = new McpServer({ name: 'cligate-memory', version: '1.0.0' });
  server.registerTool('remember', {
    description: 'Store a fact worth remembering beyond this session (about the person, their preferences, their projects). Near-duplicates are merged.',
    inputSchema: { text: z.string().min(1).max(2000).describe('The fact, as one self-contained sentence.') },
  }, async ({ text: fact }) => {
    if (!binding.scope) return unbound();
    const result = await memory().remember(fact, binding.scope, 'tool', binding.conversationId || null, binding.userKey);
    if (!result) return unavailable();
    return text(result.merged ? `Merged into memory #${result.id}.` : `Remembered as #${result.id}.`);
  });
  server.registerTool('recall', {
    description: 'Search long-term memory for facts related to a query; returns the closest memories with their ids and similarity.',
    inputSchema: {
      query: z.string().min(1).max(2000),
      limit: z.number().int().min(1).max(20).optional(),
    },
  }, async ({ query, limit }) => {
    if (!binding.scope || !(await memory().available())) return unavailable();
    const found = await memory().recall(query, binding.scope, limit ?? topK);
    if (!found.length) return text('Nothing related is remembered.');
    return text(found.map((f) => `#${f.id} (${f.score.toFixed(2)}) ${f.text}`).join('\n'));
  });
  server.registerTool('forget', {
    description: 'Delete one memory by its id (as shown by recall).',
    inputSchema: { id: z.number().int().positive() },
  }, async ({ id }) => {
    const memories = binding.scope ? await memory().available() : undefined;
    if (!memories) return unavailable();
    return text(memories.remove(id, [binding.scope]) ? `Forgot #${id}.` : `No memory #${id} in this scope.`);
  });
  return server;
}

/** The "http" way: one loopback server in the worker, one URL per conversation. */
export class MemoryMcpHttp {
  private server?: http.Server;
  private readonly bindings = new Map<string, McpBinding>();
  private readonly tokens = new Map<string, string>();
  /** Reserved for spares, not bound yet. */
  private readonly reserved = new Set<string>();
  private base = '';

  constructor(private readonly memory: Memory, private readonly topK: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.server.unref();
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/mcp/`;
  }

  /** The URL for a conversation's scope; the same while this process lives (a live CLI keeps it). */
  urlFor(binding: McpBinding): string {
    const key = keyOf(binding);
    let token = this.tokens.get(key);
    if (!token) {
      token = crypto.randomBytes(18).toString('base64url');
      this.tokens.set(key, token);
      this.bindings.set(token, binding);
    }
    return this.base + token;
  }

  /**
   * A URL for a spare CLI, started before its conversation is known: it connects and lists the
   * tools, and every tool answers "not bound" until `adopt` binds it to the conversation that takes it.
   */
  reserve(): string {
    const token = crypto.randomBytes(18).toString('base64url');
    this.bindings.set(token, { scope: '', conversationId: '', userKey: '' });
    this.reserved.add(token);
    return this.base + token;
  }

  /** Binds a reserved URL to a conversation's scope, once; from then on it is that scope's URL. */
  adopt(url: string, binding: McpBinding): boolean {
    const token = url.startsWith(this.base) ? url.slice(this.base.length) : '';
    if (!this.reserved.delete(token)) return false;
    this.bindings.set(token, binding);
    this.tokens.set(keyOf(binding), token);
    return true;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const binding = this.bindings.get((req.url ?? '').split('?')[0]!.replace(/^\/mcp\//, ''));
    if (!binding) {
      res.writeHead(404).end();
      return;
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    let body: unknown;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      res.writeHead(400).end();
      return;
    }
    // Stateless: each request gets its own server and transport (the tools keep no state).
    const server = memoryTools(() => this.memory, binding, this.topK);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }
}

function keyOf(binding: McpBinding): string {
  return `${binding.scope}\u0000${binding.conversationId}\u0000${binding.userKey}`;
}

/** The "stdio" way: `cligate mcp`, started by the CLI. The model is loaded on the first tool call. */
export async function runMemoryMcp(config: LoadedConfig, binding: McpBinding): Promise<number> {
  if (!binding.scope || !binding.userKey) {
    console.error('cligate mcp: --scope and --user are required (the worker passes them; this is not meant to be run by hand).');
    return 2;
  }
  const store = Store.open(config.store);
  let memory: Memory | undefined;
  const loaded = () => (memory ??= new Memory({ config, store, log: silentLogger }));
  const server = memoryTools(loaded, binding, config.memory.top_k);
  const transport = new StdioServerTransport();
  // When the CLI that started us exits, our stdin ends: so do we.
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve;
    process.stdin.once('end', resolve);
    process.stdin.once('close', resolve);
  });
  await server.connect(transport);
  await closed;
  await memory?.close();
  store.close();
  return 0;
}
