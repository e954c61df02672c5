/**
 * `cligate mcp`: an MCP server over stdio that the Claude CLI starts during a turn (--mcp-config), so
 * that Claude can store, search and delete memories itself. It is bound to one scope, given on its
 * command line by the worker, and shares the gateway's SQLite database. The embedding model is
 * loaded only when a tool needs it, so a turn that uses no memory tool pays nothing for it.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
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

export async function runMemoryMcp(config: LoadedConfig, binding: McpBinding): Promise<number> {
  if (!binding.scope || !binding.userKey) {
    console.error('cligate mcp: --scope and --user are required (the worker passes them; this is not meant to be run by hand).');
    return 2;
  }
  const store = Store.open(config.store.path);
  let memory: Memory | undefined;
  const loaded = () => (memory ??= new Memory({ config, store, log: silentLogger }));
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });
  const unavailable = () => text(loaded().problem ?? 'Memory is still loading; try again in a moment.');

  const server = new McpServer({ name: 'cligate-memory', version: '1.0.0' });
  server.registerTool('remember', {
    description: 'Store a fact worth remembering beyond this session (about the person, their preferences, their projects). Near-duplicates are merged.',
    inputSchema: { text: z.string().min(1).max(2000).describe('The fact, as one self-contained sentence.') },
  }, async ({ text: fact }) => {
    const result = await loaded().remember(fact, binding.scope, 'tool', binding.conversationId || null, binding.userKey);
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
    const m = loaded();
    if (!(await m.available())) return unavailable();
    const found = await m.recall(query, binding.scope, limit ?? config.memory.top_k);
    if (!found.length) return text('Nothing related is remembered.');
    return text(found.map((f) => `#${f.id} (${f.score.toFixed(2)}) ${f.text}`).join('\n'));
  });
  server.registerTool('forget', {
    description: 'Delete one memory by its id (as shown by recall).',
    inputSchema: { id: z.number().int().positive() },
  }, async ({ id }) => {
    const memories = await loaded().available();
    if (!memories) return unavailable();
    return text(memories.remove(id, [binding.scope]) ? `Forgot #${id}.` : `No memory #${id} in this scope.`);
  });

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
