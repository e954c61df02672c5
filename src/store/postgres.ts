/**
 * PostgreSQL behind the same synchronous store as SQLite. The store's code is synchronous on purpose
 * (a multi-table change is a plain closure, no awaits inside a transaction), so a `pg` client runs in
 * a worker thread and the calling thread waits for each answer on a shared flag (Atomics.wait). A
 * round trip on a LAN blocks the event loop for well under a millisecond, which is what SQLite's
 * own disk reads cost; in exchange every store call keeps its shape on both databases.
 */
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { SqlDriver, SqlResult } from './db.js';

/** How long one statement may take before the store gives up on the server. */
const STATEMENT_TIMEOUT_MS = 30_000;

/**
 * Runs in the worker thread (as CommonJS source, so it works alike from src/ under a test runner
 * and from dist/). It resolves `pg` from this module's folder.
 */
const THREAD_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createRequire } = require('node:module');
const pg = createRequire(workerData.from)('pg');
// Ids and epoch-millisecond times are bigint columns: numbers, not strings, as SQLite gives them.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));
const { url, port, flag } = workerData;
let client;
async function connected() {
  if (client) return client;
  const c = new pg.Client({ connectionString: url, application_name: 'cligate' });
  c.on('error', () => { if (client === c) client = undefined; });
  await c.connect();
  client = c;
  return c;
}
port.on('message', async ({ id, sql, params }) => {
  let answer;
  try {
    const c = await connected();
    const result = await c.query({ text: sql, values: params });
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    answer = { id, rows: last.rows ?? [], changes: last.rowCount ?? 0 };
  } catch (err) {
    // A server's error (it has a severity) leaves the connection usable; anything else drops it.
    if (!err.severity) { client?.end().catch(() => {}); client = undefined; }
    answer = { id, error: { message: err.message, code: err.code, detail: err.detail } };
  }
  port.postMessage(answer);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

export class PostgresError extends Error {
  constructor(message: string, readonly code: string | undefined, readonly detail: string | undefined) {
    super(message);
    this.name = 'PostgresError';
  }
}

export class PostgresDriver implements SqlDriver {
  readonly dialect = 'postgres' as const;
  private readonly thread: Worker;
  private readonly port: MessagePort;
  private readonly flag = new Int32Array(new SharedArrayBuffer(4));
  private depth = 0;
  private closed = false;
  /** Each statement's number, echoed by its answer: a late answer to one that timed out is told apart. */
  private lastId = 0;

  constructor(readonly url: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.thread = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: { url, port: port2, flag: this.flag, from: fileURLToPath(import.meta.url) },
      transferList: [port2],
    });
    // The thread lives as long as the store; it must not keep a finished process alive.
    this.thread.unref();
  }

  query(sql: string, params: readonly unknown[]): SqlResult {
    if (this.closed) throw new Error('the database is closed');
    const id = ++this.lastId;
    Atomics.store(this.flag, 0, 0);
    this.port.postMessage({ id, sql, params: params.map(toPg) });
    const deadline = Date.now() + STATEMENT_TIMEOUT_MS;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.flag, 0, 0, left) === 'timed-out') {
        throw new PostgresError(`PostgreSQL did not answer within ${STATEMENT_TIMEOUT_MS / 1000} s (store.url)`, undefined, sql.slice(0, 200));
      }
      const reply = receiveMessageOnPort(this.port)?.message as Reply | undefined;
      if (reply?.id === id) {
        if (reply.error) throw new PostgresError(reply.error.message, reply.error.code, reply.error.detail);
        return { rows: reply.rows.map(fromPg), changes: reply.changes };
      }
      // The flag was seen before the answer could be read (seen once, under load): look again in a
      // moment. A late answer to an earlier statement is dropped and the port read again at once.
      if (!reply) Atomics.wait(this.flag, 0, 1, 1);
    }
  }

  exec(script: string): void {
    this.query(script, []);
  }

  /**
   * One transaction that first takes a database-wide advisory lock: transactions run one at a time,
   * as SQLite's IMMEDIATE ones do, so the store's read-then-write closures need no other locking.
   * Single statements outside a transaction do not wait for it. Nested calls are savepoints.
   */
  tx<T>(fn: () => T): T {
    const savepoint = `sp${this.depth}`;
    if (this.depth === 0) {
      this.exec('begin');
      this.exec('select pg_advisory_xact_lock(7305818)');
    } else {
      this.exec(`savepoint ${savepoint}`);
    }
    this.depth++;
    try {
      const result = fn();
      this.depth--;
      this.exec(this.depth === 0 ? 'commit' : `release savepoint ${savepoint}`);
      return result;
    } catch (err) {
      this.depth--;
      try {
        this.exec(this.depth === 0 ? 'rollback' : `rollback to savepoint ${savepoint}`);
      } catch {
        /* the connection is gone: the server rolled back */
      }
      throw err;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.thread.terminate();
  }
}

interface Reply {
  id: number;
  rows: Record<string, unknown>[];
  changes: number;
  error?: { message: string; code?: string; detail?: string };
}

/** Booleans are stored as 0/1 integers, as in SQLite. */
function toPg(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** Byte columns cross the thread as Uint8Array: give callers the Buffers SQLite gives. */
function fromPg(row: Record<string, unknown>): Record<string, unknown> {
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) row[key] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  }
  return row;
}
