/**
 * One process of the hosts part (bench/hosts.ts): what `cligate start --config F --role R` runs
 * (src/cli.ts start(): Gateway.start with the messenger adapters, none for a worker), with two bench
 * changes: a worker's Claude engine is the in-process echo engine (bench/echo-engine.ts), and every
 * statement the store sends to its database is counted (the drivers' methods wrapped before the
 * store opens). Driven over IPC:
 *   reset  - counts afresh (after the warm-up)
 *   report - replies with the counts since the reset and since the start
 *   stop   - the graceful stop, then exit
 * Usage: node dist/bench/host.js CONFIG ROLE. Bench only: nothing in src/ knows about it.
 */
import { messengerAdapters } from '../adapters/index.js';
import { loadConfig } from '../src/config/load.js';
import { Gateway, type Role } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { SqliteDriver } from '../src/store/db.js';
import { PostgresDriver } from '../src/store/postgres.js';
import { EchoEngine } from './echo-engine.js';

export interface StoreCounts {
  /** Statements sent to the database: on PostgreSQL each is one round trip (begin, the advisory lock and commit included). */
  statements: number;
  /** Transactions as the server counts them: each begin…commit, and each statement outside one. */
  transactions: number;
}

export interface HostReport {
  cmd: 'ok';
  sinceReset: StoreCounts;
  sinceStart: StoreCounts;
  answered: number;
}

const sinceStart: StoreCounts = { statements: 0, transactions: 0 };
let sinceReset: StoreCounts = { statements: 0, transactions: 0 };
const count = (statements: number, transactions: number) => {
  sinceStart.statements += statements;
  sinceStart.transactions += transactions;
  sinceReset.statements += statements;
  sinceReset.transactions += transactions;
};

// PostgreSQL: every query() is one message to the pg thread and one round trip to the server (tx()
// and exec() go through it). A transaction is a 'begin' (its statements then count as round trips
// only) or a statement outside one.
let inTx = false;
const pgQuery = PostgresDriver.prototype.query;
PostgresDriver.prototype.query = function (sql, params) {
  let transactions = 0;
  if (sql === 'begin') {
    inTx = true;
    transactions = 1;
  } else if (sql === 'commit' || sql === 'rollback') {
    inTx = false;
  } else if (!inTx) {
    transactions = 1;
  }
  count(1, transactions);
  return pgQuery.call(this, sql, params);
};
// SQLite: in-process, no round trips; the statements are counted alike (a transaction's BEGIN and
// COMMIT, run by better-sqlite3 itself, are not, so tx() counts one transaction and its statements).
let sqliteDepth = 0;
for (const method of ['query', 'first'] as const) {
  const original = SqliteDriver.prototype[method] as (this: SqliteDriver, sql: string, params: readonly unknown[]) => unknown;
  (SqliteDriver.prototype as unknown as Record<string, unknown>)[method] = function (this: SqliteDriver, sql: string, params: readonly unknown[]) {
    count(1, sqliteDepth === 0 ? 1 : 0);
    return original.call(this, sql, params);
  };
}
const sqliteTx = SqliteDriver.prototype.tx;
SqliteDriver.prototype.tx = function <T>(this: SqliteDriver, fn: () => T): T {
  if (sqliteDepth === 0) count(0, 1);
  sqliteDepth++;
  try {
    return sqliteTx.call(this, fn) as T;
  } finally {
    sqliteDepth--;
  }
};

async function main(): Promise<void> {
  const [file, role] = process.argv.slice(2) as [string, Role];
  const loaded = loadConfig(file);
  if (!loaded.ok) throw new Error(loaded.error);
  const config = loaded.config;
  const log = createLogger({ level: 'warn', secrets: [] });
  const gateway = await Gateway.start(config, { role, adapters: role === 'worker' ? [] : await messengerAdapters(config, log), log });
  const engine = new EchoEngine();
  if (role !== 'gateway') gateway.engines!.use(engine);
  process.on('message', (m: { cmd: string }) => {
    switch (m.cmd) {
      case 'reset':
        sinceReset = { statements: 0, transactions: 0 };
        break;
      case 'report':
        process.send!({ cmd: 'ok', sinceReset, sinceStart, answered: engine.answered } satisfies HostReport);
        return;
      case 'stop':
        void gateway.stop().then(() => {
          process.send!({ cmd: 'stopped', sinceStart }, () => process.exit(0));
        });
        return;
    }
    process.send!({ cmd: 'ok' });
  });
  process.send!({ cmd: 'ready', url: gateway.httpUrl });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
