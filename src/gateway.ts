/**
 * Puts the parts together, in the order a message meets them:
 *
 *   adapter --InboundMessage--> Intake (accept.ts) --inbox row + wake--> JobQueue (queue/)
 *     --drain(conversation)--> TurnWorker (worker.ts) --TurnRequest--> Engine (engine/)
 *     --events on the Bus, reply in the outbox--> Delivery (delivery.ts) --post/edit--> adapter
 *
 * Roles: `all` runs everything in one process; `gateway` runs the adapters and delivery; `worker`
 * runs turns. Split roles need the bullmq driver (Redis carries jobs and events between processes).
 */
import { platformNamed } from '../adapters/index.js';
import { isStreamAdapter, type Adapter, type AdapterHost, type GatewayApi, type Reader } from './adapter.js';
import { Intake, userKeyOf } from './accept.js';
import { Pacer } from './pacer.js';
import { ApprovalDesk } from './approvals/index.js';
import { LocalBus, type Bus } from './bus.js';
import type { CommandHandler } from './commands.js';
import type { LoadedConfig } from './config/load.js';
import { Delivery } from './delivery.js';
import { Engines } from './engine/index.js';
import { HttpServer } from './http-server.js';
import type { Logger } from './log.js';
import type { Memory } from './memory/index.js';
import type { Voice } from './voice/index.js';
import { Metrics } from './metrics.js';
import type { Platform } from './message.js';
import { sectionOf } from './platform.js';
import { PlatformLeases } from './platform-leases.js';
import { SqliteQueue } from './queue/sqlite.js';
import type { JobQueue } from './queue/types.js';
import { Scheduler } from './schedules/scheduler.js';
import { forgetHomes } from './sandbox/homes.js';
import { Store } from './store/index.js';
import type { Viewer } from './store/conversations.js';
import { TurnWorker, type TurnHooks } from './worker.js';
import { SessionHolds, Terminals } from './terminal/index.js';
import { HOOKS_PATH, webhookHandler } from './webhooks/index.js';
import { resolveInside, workspacePath } from './workspace.js';
import { conversationIdOf } from './message.js';

export type Role = 'all' | 'gateway' | 'worker';

export interface GatewayOptions {
  role: Role;
  adapters: Adapter[];
  log: Logger;
  /** Environment of the engines' CLIs; the process's own by default. */
  env?: NodeJS.ProcessEnv;
  /** Optional parts plug in here (long-term memory). */
  extensions?: GatewayExtension[];
}

/** An optional part: commands it adds, and hooks around each turn. */
export interface GatewayExtension {
  commands?: Map<string, CommandHandler>;
  hooks?: TurnHooks;
  close?(): Promise<void>;
}

/** How often new transcript lines join the search index: a batch is far cheaper than one line at a time. */
const SEARCH_INDEX_INTERVAL_MS = 2000;

export class Gateway {
  readonly http = new HttpServer();
  httpUrl?: string;
  engines?: Engines;
  intake?: Intake;
  delivery?: Delivery;
  /** Which chat platforms this gateway serves now (one gateway each, when there are several). */
  platforms?: PlatformLeases;
  metrics?: Metrics;
  memory?: Memory;
  /** Hears voice notes before a turn (workers only). */
  voice?: Voice;
  desk?: ApprovalDesk;
  scheduler?: Scheduler;
  /** Adds new transcript lines to the search index every few seconds (searches add the rest first). */
  private searchIndexing?: NodeJS.Timeout;
  /** Web terminal tabs (src/terminal), and the sessions their Claude and Codex tabs hold. */
  terminals?: Terminals;
  readonly holds = new SessionHolds();
  private extensions: GatewayExtension[] = [];
  private readonly adapters: Adapter[];
  private stopping?: Promise<void>;

  private constructor(
    readonly config: LoadedConfig,
    readonly store: Store,
    readonly bus: Bus,
    readonly queue: JobQueue,
    readonly options: GatewayOptions,
  ) {
    this.adapters = options.adapters;
  }

  get log(): Logger {
    return this.options.log;
  }

  static async start(config: LoadedConfig, options: GatewayOptions): Promise<Gateway> {
    const { log, role } = options;
    const store = Store.open(config.store);
    const bullmq = config.queue.driver === 'bullmq';
    let bus: Bus;
    let queue: JobQueue;
    if (bullmq) {
      // Loaded only when used: a personal bot on the sqlite driver never pays for BullMQ and ioredis.
      const [{ BullQueue }, { RedisBus }] = await Promise.all([import('./queue/bullmq.js'), import('./queue/redis-bus.js')]);
      bus = new RedisBus(config.queue.redis_url, config.queue.prefix);
      queue = new BullQueue({ store, redisUrl: config.queue.redis_url, prefix: config.queue.prefix, leaseMs: config.worker.lease_s * 1000, log });
    } else {
      bus = new LocalBus();
      queue = new SqliteQueue({ store, leaseMs: config.worker.lease_s * 1000, log });
    }
    if (!bullmq && role !== 'all') {
      log.warn({ role }, 'the sqlite queue driver is meant for one process: live progress does not cross processes (use queue.driver = "bullmq")');
    }
    const gateway = new Gateway(config, store, bus, queue, options);
    gateway.http.onError = (err, path) => log.error({ err, path }, 'http handler failed');
    gateway.engines = new Engines(config, log, options.env);
    gateway.engines.sandbox.announce(config, log);
    if (config.memory.enabled) {
      const { Memory } = await import('./memory/index.js');
      gateway.memory = new Memory({ config: gateway.engines.sandbox.memoryConfig(config), store, log, configFile: config.source || undefined });
    }
    const extensions = [...(gateway.memory ? [gateway.memory.extension()] : []), ...(options.extensions ?? [])];
    gateway.extensions = extensions;
    const commands = new Map<string, CommandHandler>(extensions.flatMap((e) => [...(e.commands ?? new Map())]));
    const hooks = mergeHooks(extensions.map((e) => e.hooks).filter((h): h is TurnHooks => !!h));

    const desk = (gateway.desk = new ApprovalDesk({ store, bus, config, log }));
    if (role !== 'worker') {
      const byPlatform = new Map<Platform, Adapter>(options.adapters.map((a) => [a.platform, a]));
      const platforms = (gateway.platforms = new PlatformLeases(store.db, log));
      gateway.delivery = new Delivery({ store, bus, adapters: byPlatform, log, desk, serves: (platform) => platforms.holds(platform) });
      gateway.intake = new Intake({
        store, queue, bus, config, log, desk, enabledEngines: gateway.engines.enabled(), commandExtensions: commands,
        maxFileBytes: (platform) => maxFileMb(config, platform) * 1024 * 1024,
      });
      gateway.metrics = new Metrics(store, bus, queue, gateway.engines);
      gateway.delivery.start();
      await gateway.intake.recover();
      gateway.terminals = new Terminals({
        config, engines: gateway.engines, store, log, holds: gateway.holds, workersHere: role === 'all',
        wake: (conversationId) => void queue.wake(conversationId),
      });
      bus.subscribe((event) => {
        if (event.type === 'release' && event.session) gateway.terminals?.closeSessionTabs(event.conversationId);
      });
      const host = gateway.adapterHost();
      const api = gateway.api();
      for (const adapter of options.adapters) {
        adapter.serveApi?.(api);
        if (isStreamAdapter(adapter)) {
          await gateway.startAdapter(adapter, host);
          continue;
        }
        // A platform that allows one connection per bot connects from the gateway serving it only.
        const exclusive = adapter.exclusiveConnection ?? false;
        if (!exclusive) await gateway.startAdapter(adapter, host);
        await platforms.claim(adapter.platform, async () => {
          if (exclusive) await gateway.startAdapter(adapter, host);
          gateway.delivery!.kick();
        }, async () => {
          if (exclusive) await gateway.stopAdapter(adapter);
        });
      }
      if (config.webhooks.length) gateway.http.mount(HOOKS_PATH, webhookHandler({ hooks: config.webhooks, intake: gateway.intake, log }));
      if (gateway.http.hasMounts) gateway.httpUrl = await gateway.http.listen(config.http.host, config.http.port);
    }
    // Workers start last: what a recovered turn announces at once (an earlier attempt's cards expiring)
    // must find delivery listening.
    if (role !== 'gateway') {
      const { Voice } = await import('./voice/index.js');
      gateway.voice = new Voice(config.voice, log);
      const worker = new TurnWorker({ store, bus, engines: gateway.engines, config, log, hooks, desk, holds: gateway.holds, voice: gateway.voice });
      // /new, /forget... in any process: stop that conversation's live CLI here.
      bus.subscribe((event) => {
        if (event.type !== 'release') return;
        // A forgotten conversation's CLI homes go once its CLI has stopped writing into them.
        void gateway.engines!.release(event.conversationId)
          .then(() => event.forget && forgetHomes(config.gateway.data_dir, event.conversationId))
          .catch((err) => log.warn({ err, conversationId: event.conversationId }, 'releasing a conversation\'s CLI failed'));
      });
      // One process takes every message (sqlite driver): start a conversation's CLI as its message is queued.
      if (!bullmq && role === 'all') {
        bus.subscribe((event) => {
          if (event.type === 'queued' && event.position === 1) worker.prewarm(event.conversationId);
        });
      }
      await queue.startWorkers(worker.drain, config.worker.concurrency, { keepsWarm: (id) => gateway.engines!.holdsLive(id) });
      gateway.engines.warm();
    }
    // Gateways fire schedules (several may run: each occurrence is fired once, see schedules/scheduler.ts).
    if (gateway.intake) {
      gateway.scheduler = new Scheduler({ store, bus, intake: gateway.intake, config, log });
      gateway.scheduler.start();
      gateway.searchIndexing = setInterval(() => {
        try {
          store.transcript.indexForSearch();
        } catch (err) {
          log.warn({ err }, 'indexing transcripts for search failed; the next search or round does it');
        }
      }, SEARCH_INDEX_INTERVAL_MS).unref();
    }
    return gateway;
  }

  /** Graceful stop: no new messages, running turns get the grace period, replies in flight get a moment. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /**
   * Every step runs even when an earlier one throws (each failure is logged with its step), in the
   * order that loses nothing: stop taking messages, let turns finish, deliver, then close; the store
   * always closes last.
   */
  private async shutdown(): Promise<void> {
    const { log } = this.options;
    const steps: [string, () => unknown][] = [
      ['stop the scheduler', () => this.scheduler?.stop()],
      ['stop indexing for search', () => clearInterval(this.searchIndexing)],
      ...this.adapters.map((adapter): [string, () => unknown] => [`stop the ${adapter.platform} adapter`, () => this.stopAdapter(adapter)]),
      ['let the platforms go', () => this.platforms?.release()],
      ['stop the workers', () => this.queue.stopWorkers(this.config.gateway.shutdown_grace_s * 1000)],
      ['stop delivery', () => this.delivery?.stop()],
      ['close the terminal tabs', () => this.terminals?.closeAll()],
      ['close the HTTP server', () => this.http.close()],
      ['close metrics', () => this.metrics?.close()],
      ['stop the engines', () => this.engines?.close()],
      ['stop voice transcription', () => this.voice?.close()],
      ...this.extensions.map((extension, i): [string, () => unknown] => [`close extension ${i + 1}`, () => extension.close?.()]),
      ['close the queue', () => this.queue.close()],
      ['close the bus', () => this.bus.close()],
      ['close the store', () => this.store.close()],
    ];
    for (const [step, run] of steps) {
      try {
        await run();
      } catch (err) {
        log.warn({ err, step }, 'shutdown step failed; going on with the next');
      }
    }
  }

  private readonly started = new Set<Adapter>();
  private readonly pacer = new Pacer();

  private async startAdapter(adapter: Adapter, host: AdapterHost): Promise<void> {
    this.started.add(adapter);
    await adapter.start(host);
  }

  private async stopAdapter(adapter: Adapter): Promise<void> {
    if (!this.started.delete(adapter)) return;
    await adapter.stop();
  }

  private adapterHost(): AdapterHost {
    return {
      // Paced: a burst of messages is accepted over several turns of the event loop, not in one.
      receive: (message, options) => this.pacer.run(() => this.intake!.receive(message, options)),
      act: (action) => this.intake!.act(action),
      mount: (path, handler) => this.http.mount(path, handler),
      mountUpgrade: (path, handler) => this.http.mountUpgrade(path, handler),
      workspaceFile: (address, relativePath) => {
        const resolved = resolveInside(workspacePath(this.config.workspace.root, conversationIdOf(address)), relativePath);
        return resolved.ok ? { path: resolved.path } : { error: resolved.error };
      },
      log: this.options.log,
    };
  }

  private api(): GatewayApi {
    const { store, bus } = this;
    const viewerOf = (reader: Reader): Viewer | undefined =>
      reader.admin ? undefined : { platform: reader.platform, userId: reader.userId, userKey: userKeyOf(this.config, reader.platform, reader.userId) };
    return {
      conversations: (reader, limit) => store.conversations.list(limit, viewerOf(reader)),
      canRead: (reader, id) => (reader.admin ? !!store.conversations.get(id) : store.conversations.visible(id, viewerOf(reader)!)),
      conversation: (reader, id) => {
        const conversation = store.conversations.get(id);
        if (!conversation || (!reader.admin && !store.conversations.visible(id, viewerOf(reader)!))) return undefined;
        return {
          conversation,
          session: store.conversations.activeSession(conversation),
          sessions: store.conversations.sessions(id),
          transcript: store.transcript.list(id),
          schedules: store.schedules.ofConversation(id),
          webhooks: this.config.webhooks.filter((h) => h.conversation === id).map(({ path, kind, events }) => ({ path: `/hooks/${path}`, kind, events })),
          terminals: this.terminals?.list(id) ?? [],
        };
      },
      approvals: {
        pendingFor: (by) => this.desk!.pendingFor(by),
        get: (approvalId) => {
          const row = store.approvals.get(approvalId);
          return row && this.desk!.view(row);
        },
        decide: (approvalId, by, decision) => this.desk!.decide(approvalId, by, decision),
      },
      outcomeOf: (messageId) => store.messages.outcome(messageId),
      terminals: this.terminals,
      workspaceOf: (id) => workspacePath(this.config.workspace.root, id),
      fileChanges: store.fileChanges,
      activity: (id) => store.activity.list(id),
      search: (reader, text, limit) => store.transcript.search(text, reader.admin ? undefined : store.conversations.list(10_000, viewerOf(reader)).map((c) => c.id), limit),
      health: () => this.metrics!.health(),
      metrics: () => this.metrics!.render(),
      storedKeys: () => store.db.all(store.db.q.selectFrom('api_keys').select(['sha256', 'user'])),
      storeKey: (sha256, user) => {
        store.db.run(store.db.q.insertInto('api_keys').values({ sha256, user, created_at: Date.now() }).onConflict((oc) => oc.doNothing()));
      },
    };
  }
}

/** The platform's own limit, from its definition in the registry; 20 MB where it sets none. */
function maxFileMb(config: LoadedConfig, platform: Platform): number {
  const definition = platformNamed(platform);
  return definition?.maxFileMb?.(sectionOf(config, definition)) ?? 20;
}

function mergeHooks(all: TurnHooks[]): TurnHooks | undefined {
  if (!all.length) return undefined;
  return {
    context: async (message, conversation) =>
      (await Promise.all(all.map((h) => h.context?.(message, conversation) ?? Promise.resolve([])))).flat(),
    mcpConfig: (message, conversation) => all.map((h) => h.mcpConfig?.(message, conversation)).find(Boolean),
    mcpSpare: (message, conversation) => all.map((h) => h.mcpSpare?.(message, conversation)).find(Boolean),
    answered: async (message, conversation, answer) => {
      await Promise.all(all.map((h) => h.answered?.(message, conversation, answer)));
    },
  };
}
