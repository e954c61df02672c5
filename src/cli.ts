#!/usr/bin/env node
/**
 * `cligate start | chat | doctor | key | share | mcp` (see --help). Loads the config, builds the adapters
 * it asks for, runs the gateway until SIGTERM/SIGINT, and shuts it down gracefully.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LocalChatAdapter } from '../adapters/local/index.js';
import { messengerAdapters } from '../adapters/index.js';
import type { Adapter } from './adapter.js';
import { loadConfig, type LoadedConfig } from './config/load.js';
import { runDoctor } from './doctor.js';
import { Gateway, type Role } from './gateway.js';
import { collectSecrets, createLogger, type Logger } from './log.js';

const USAGE = `cligate: talk to the Claude Code CLI from Telegram, Slack, Discord, a terminal or HTTP.

Usage:
  cligate start  [--config F] [--role all|gateway|worker]   run the gateway (adapters and workers)
  cligate chat   [--config F] [--role all|gateway]          chat in this terminal
  cligate doctor [--config F]                               check config, database, Redis, the CLI (and on PostgreSQL the shared volume and clock)
  cligate key    [--user NAME] [--admin]                    make an API key for the HTTP API (--admin: sees every conversation)
  cligate share  <conversation id> [--tab ID] [--write] [--expires S] | --list | --revoke ID
                                                            a link to a conversation's terminal tabs (view only unless --write)
  cligate mcp    --config F --scope S                       memory tools over MCP stdio (used by the engine)

Without --config, $CLIGATE_CONFIG or ./cligate.toml is used if set or present, else the defaults.`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      role: { type: 'string' },
      user: { type: 'string' },
      admin: { type: 'boolean' },
      scope: { type: 'string' },
      conversation: { type: 'string' },
      tab: { type: 'string' },
      write: { type: 'boolean' },
      expires: { type: 'string' },
      list: { type: 'boolean' },
      revoke: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'start';
  if (values.help || command === 'help') {
    console.log(USAGE);
    return 0;
  }
  if (command === 'key') return makeKey(values.user ?? 'me', values.admin ?? false);

  const loaded = loadConfig(values.config ?? (process.env.CLIGATE_CONFIG || undefined));
  if (!loaded.ok) {
    console.error(`cligate: ${loaded.error}`);
    return 2;
  }
  const config = loaded.config;
  const role = (values.role ?? 'all') as Role;
  if (!['all', 'gateway', 'worker'].includes(role)) {
    console.error(`cligate: --role must be all, gateway or worker (got "${role}")`);
    return 2;
  }
  switch (command) {
    case 'start':
      return start(config, role);
    case 'chat':
      return chat(config, role === 'worker' ? 'all' : role);
    case 'doctor':
      return runDoctor(config);
    case 'share': {
      const { runShare } = await import('./terminal/share-cli.js');
      return runShare(config, { ...values, conversation: positionals[1] });
    }
    case 'mcp': {
      const { runMemoryMcp } = await import('./memory/mcp.js');
      return runMemoryMcp(config, { scope: values.scope ?? '', conversationId: values.conversation ?? '', userKey: values.user ?? '' });
    }
    default:
      console.error(`cligate: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

function logger(config: LoadedConfig, destination?: string): Logger {
  return createLogger({ level: config.gateway.log_level, secrets: collectSecrets(config), destination });
}

async function start(config: LoadedConfig, role: Role): Promise<number> {
  const log = logger(config);
  // Secrets in here are scrubbed from the log line (see log.ts).
  log.debug({ config }, 'configuration');
  let adapters: Adapter[];
  try {
    adapters = role === 'worker' ? [] : await messengerAdapters(config, log);
  } catch (err) {
    console.error(`cligate: ${(err as Error).message}`);
    return 2;
  }
  const gateway = await startOrExplain(config, role, adapters, log);
  if (!gateway) return 1;
  // Listen for signals before announcing anything: whoever reads the announcement may signal at once.
  const stopped = waitForSignal(gateway, log);
  const names = adapters.map((a) => a.platform);
  log.info({ role, queue: config.queue.driver, adapters: names, http: gateway.httpUrl, config: config.source || '(defaults)' }, 'cligate started');
  if (role !== 'worker' && !names.some((n) => n !== 'http')) {
    console.error(`cligate: no messenger token configured.${gateway.httpUrl ? ` Web chat: ${gateway.httpUrl}/` : ''} Terminal chat: \`cligate chat\`.`);
  }
  return stopped;
}

async function chat(config: LoadedConfig, role: Role): Promise<number> {
  // The terminal is the chat: logs go to a file.
  const logFile = path.join(config.gateway.data_dir, 'cligate-chat.log');
  const log = logger(config, logFile);
  let ended: () => void = () => {};
  const inputEnded = new Promise<void>((resolve) => (ended = resolve));
  const local = new LocalChatAdapter({ input: process.stdin, output: process.stdout, user: config.local.user, onEnd: () => ended() });
  const gateway = await startOrExplain({ ...config, http: { ...config.http, enabled: false } }, role, [local], log);
  if (!gateway) return 1;
  if (process.stdin.isTTY) console.error('cligate chat: type a message and press Enter; /help lists commands; Ctrl-D quits.');
  const signalled = waitForSignal(gateway, log);
  await Promise.race([inputEnded, signalled]);
  // Input is over: let the answers still owed arrive, then leave.
  const owed = () => {
    const { queued, running } = gateway.store.messages.counts('local:terminal');
    return queued + running + gateway.store.outbox.pendingCount('local:terminal');
  };
  while (owed() > 0) await new Promise((r) => setTimeout(r, 100));
  await gateway.stop();
  return 0;
}

async function startOrExplain(config: LoadedConfig, role: Role, adapters: Parameters<typeof Gateway.start>[1]['adapters'], log: Logger): Promise<Gateway | undefined> {
  try {
    return await Gateway.start(config, { role, adapters, log });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const hint = e.code === 'EADDRINUSE'
      ? ` (port ${config.http.port} is taken: set http.port, or http.enabled = false)`
      : e.code === 'SQLITE_CANTOPEN' || e.code === 'EACCES' ? ` (check that ${config.store.path} is writable)` : '';
    console.error(`cligate: could not start: ${e.message}${hint}`);
    log.error({ err }, 'start failed');
    return undefined;
  }
}

function waitForSignal(gateway: Gateway, log: Logger): Promise<number> {
  // Timers inside are unref'd: without this, a gateway with nothing listening would just exit.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn('second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      log.info({ signal }, 'shutting down');
      void gateway.stop().then(() => resolve(0), (err) => {
        log.error({ err }, 'shutdown failed');
        resolve(1);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }).finally(() => clearInterval(keepAlive));
}

function makeKey(user: string, admin: boolean): number {
  const key = `cg_${crypto.randomBytes(24).toString('base64url')}`;
  const sha256 = crypto.createHash('sha256').update(key).digest('hex');
  const role = admin ? '\nadmin = true' : '';
  console.log(`API key for "${user}" (shown once; keep it secret):\n\n  ${key}\n\nAdd this to your config:\n\n[[http.api_keys]]\nuser = "${user}"\nsha256 = "${sha256}"${role}`);
  return 0;
}

process.on('unhandledRejection', (reason) => {
  console.error('cligate: unhandled rejection (kept running):', reason instanceof Error ? reason.message : reason);
});

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(`cligate: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);
