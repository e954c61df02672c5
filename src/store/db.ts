/**
 * The database: SQLite by default (one file, WAL mode), or PostgreSQL when several hosts share the
 * state. Opened once per process and migrated at start. Kysely builds and types the SQL; the driver
 * runs it synchronously (better-sqlite3, or `pg` in a worker thread: ./postgres.ts), so a multi-table
 * change is one plain transaction with no awaits inside it.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import * as sqliteVec from 'sqlite-vec';
import {
  DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, SqliteAdapter, SqliteIntrospector,
  SqliteQueryCompiler, type Compilable, type Dialect, type Generated, type Selectable,
} from 'kysely';
import type { ApprovalKind, ApprovalStatus, Choice } from '../approvals/types.js';
import type { EngineName } from '../config/schema.js';
import type { MessageErrorCode } from '../engine/types.js';
import type { Platform } from '../message.js';
import { MIGRATIONS_DIR } from '../paths.js';
import { PostgresDriver } from './postgres.js';

export interface ConversationsTable {
  id: string;
  platform: Platform;
  chat_id: string;
  thread_id: string;
  user_id: string;
  title: string | null;
  engine: EngineName | null;
  active_session_id: number | null;
  last_message_at: number | null;
  created_at: number;
  updated_at: number;
  /** ask | edits | plan | auto; null: the configured default. */
  permission_mode: string | null;
}

export interface SessionsTable {
  id: Generated<number>;
  conversation_id: string;
  engine: EngineName;
  engine_session_id: string | null;
  workspace: string;
  turns: number;
  cost_usd: number;
  created_at: number;
  last_used_at: number;
}

export type MessageStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface MessagesTable {
  id: Generated<number>;
  conversation_id: string;
  kind: 'prompt' | 'command';
  platform: Platform;
  platform_message_id: string | null;
  /** A hash of the request that carried the message (HTTP), to tell a retry from a reused id. */
  request_sha256: string | null;
  user_id: string;
  user_key: string;
  text: string;
  attachments: string | null;
  reply_context: string | null;
  status: MessageStatus;
  attempts: number;
  cancel_requested: number;
  session_id: number | null;
  /** The process running it: a prompt's CLI, or for a command the gateway answering it (`host:pid`). */
  engine_process: string | null;
  error_code: MessageErrorCode | null;
  error_message: string | null;
  cost_usd: number | null;
  received_at: number;
  /** 0: the client cannot show approval requests (they are denied at once, with a reason Claude reads). */
  can_ask: Generated<number>;
  started_at: number | null;
  finished_at: number | null;
  /** The schedule that fired this message (its answer is headed by the schedule's id and name). */
  schedule_id: Generated<number | null>;
}

export interface TranscriptTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: number | null;
  role: 'user' | 'assistant' | 'notice';
  text: string;
  created_at: number;
}

export type OutboxStatus = 'draft' | 'pending' | 'sent' | 'failed';

export interface OutboxTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: number | null;
  seq: number;
  text: string;
  split: number;
  ephemeral: number;
  file_path: string | null;
  platform_ref: string | null;
  status: OutboxStatus;
  attempts: number;
  next_attempt_at: number;
  deadline_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

export interface LeasesTable {
  conversation_id: string;
  owner: string;
  expires_at: number;
}

export interface ApiKeysTable {
  sha256: string;
  user: string;
  created_at: number;
}

export interface MemoriesTable {
  id: Generated<number>;
  scope: string;
  text: string;
  source: 'explicit' | 'automatic' | 'tool';
  conversation_id: string | null;
  user_key: string;
  model: string;
  hits: number;
  created_at: number;
  updated_at: number;
}

export interface ApprovalsTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: number;
  kind: ApprovalKind;
  tool: string;
  input: string;
  suggestions: string;
  requested_by: string;
  status: ApprovalStatus;
  choice: Choice | null;
  reason: string | null;
  answers: string;
  decided_by: string | null;
  platform_ref: string | null;
  waiting: number;
  expires_at: number;
  created_at: number;
  decided_at: number | null;
}

export interface PermissionRulesTable {
  id: Generated<number>;
  conversation_id: string;
  rule: string;
  created_by: string;
  created_at: number;
}

export interface FileChangesTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: number;
  path: string;
  change: 'added' | 'modified' | 'deleted';
  diff: string | null;
  note: string | null;
  created_at: number;
}

export interface ActivityTable {
  id: Generated<number>;
  conversation_id: string;
  message_id: number;
  tool_use_id: string;
  tool: string;
  summary: string;
  result: string | null;
  is_error: number;
  started_at: number;
  finished_at: number | null;
}

export type ActivityRow = Selectable<ActivityTable>;

export interface TerminalSharesTable {
  id: Generated<number>;
  token_sha256: string;
  conversation_id: string;
  tab_id: string | null;
  mode: 'view' | 'write';
  created_by: string;
  creator_admin: number;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface MemoryVectorsTable {
  id: number;
  vector: Buffer;
  bits: Buffer;
}

export interface MemoryScopesTable {
  scope: string;
  version: number;
  resets: number;
  size: number;
}

export type ScheduleKind = 'cron' | 'interval' | 'once';
export type ScheduleStatus = 'active' | 'paused' | 'done' | 'cancelled';

export interface SchedulesTable {
  id: Generated<number>;
  conversation_id: string;
  name: string;
  prompt: string;
  kind: ScheduleKind;
  /** Cron pattern, interval in ms, or the time in ms. */
  spec: string;
  timezone: string;
  user_id: string;
  user_key: string;
  status: ScheduleStatus;
  next_run_at: number | null;
  anchor_at: number;
  streak_from: number;
  created_at: number;
  updated_at: number;
}

export interface PersonSettingsTable {
  user_key: string;
  timezone: string | null;
  updated_at: number;
}

export interface Tables {
  conversations: ConversationsTable;
  sessions: SessionsTable;
  messages: MessagesTable;
  transcript: TranscriptTable;
  outbox: OutboxTable;
  leases: LeasesTable;
  api_keys: ApiKeysTable;
  memories: MemoriesTable;
  memory_vectors: MemoryVectorsTable;
  memory_scopes: MemoryScopesTable;
  approvals: ApprovalsTable;
  permission_rules: PermissionRulesTable;
  schedules: SchedulesTable;
  person_settings: PersonSettingsTable;
  file_changes: FileChangesTable;
  activity: ActivityTable;
  terminal_shares: TerminalSharesTable;
}

export type Conversation = Selectable<ConversationsTable>;
export type Session = Selectable<SessionsTable>;
export type TerminalShare = Selectable<TerminalSharesTable>;
export type Message = Selectable<MessagesTable>;
export type OutboxRow = Selectable<OutboxTable>;
export type TranscriptRow = Selectable<TranscriptTable>;
export type MemoryRow = Selectable<MemoriesTable>;
export type ApprovalRow = Selectable<ApprovalsTable>;
export type PermissionRule = Selectable<PermissionRulesTable>;
export type Schedule = Selectable<SchedulesTable>;

export interface SqlResult {
  rows: Record<string, unknown>[];
  /** Rows a write changed (or returned). */
  changes: number;
}

/** What the store needs of a database: statements run synchronously, transactions as closures. */
export interface SqlDriver {
  readonly dialect: 'sqlite' | 'postgres';
  query(sql: string, params: readonly unknown[]): SqlResult;
  /** Runs a script of several statements (migrations). */
  exec(script: string): void;
  tx<T>(fn: () => T): T;
  close(): void;
}

export class SqliteDriver implements SqlDriver {
  readonly dialect = 'sqlite' as const;
  /** Prepared statements by SQL text: the same few queries run for every message. */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly raw: Database.Database) {}

  query(sql: string, params: readonly unknown[]): SqlResult {
    const stmt = this.prepare(sql);
    if (stmt.reader) {
      const rows = stmt.all(...params) as Record<string, unknown>[];
      return { rows, changes: rows.length };
    }
    return { rows: [], changes: stmt.run(...params).changes };
  }

  /** One row without building the array of all of them (the common case, kept cheap). */
  first(sql: string, params: readonly unknown[]): Record<string, unknown> | undefined {
    const stmt = this.prepare(sql);
    if (stmt.reader) return stmt.get(...params) as Record<string, unknown> | undefined;
    stmt.run(...params);
    return undefined;
  }

  exec(script: string): void {
    this.raw.exec(script);
  }

  /** One IMMEDIATE transaction: it takes the write lock first, so it never fails half-way on a busy database. */
  tx<T>(fn: () => T): T {
    return this.raw.transaction(fn).immediate();
  }

  close(): void {
    if (this.raw.open) this.raw.close();
  }

  private prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.raw.prepare(sql);
      // "in (?, ?, ...)" lists make many variants; keep the cache bounded.
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, stmt);
    }
    return stmt;
  }
}

/**
 * A statement every message runs, built and compiled once per database instead of on each call:
 * `build` is given stand-ins for its arguments, each to be used whole as a value (never in logic,
 * never as a list), and every call binds the real ones (`statement.with(args)`).
 */
export class Statement<A extends object, R> {
  constructor(readonly build: (q: Kysely<Tables>, args: A) => Compilable<R>) {}

  with(args: A): Bound<R> {
    return new Bound(this as unknown as Statement<object, R>, args);
  }
}

/** A statement with its arguments, run by Db.all/first/run like any Kysely query. */
export class Bound<R> {
  declare readonly result?: R;
  constructor(readonly statement: Statement<object, R>, readonly args: object) {}
}

/** Stands for an argument while a Statement is compiled; its place in the parameters is remembered. */
class Argument {
  constructor(readonly name: string) {}
}

interface Compiled {
  sql: string;
  /** Each parameter: an argument's name, or a value fixed in the statement. */
  slots: ({ arg: string } | { value: unknown })[];
}

type Query<R> = Compilable<R> | Bound<R>;

/** One open database: Kysely builds and types each statement, the driver runs it synchronously. */
export class Db {
  readonly q: Kysely<Tables>;
  readonly dialect: 'sqlite' | 'postgres';
  private readonly compiled = new Map<Statement<object, unknown>, Compiled>();

  constructor(readonly driver: SqlDriver) {
    this.dialect = driver.dialect;
    this.q = new Kysely<Tables>({ dialect: compileOnly(driver.dialect) });
  }

  /** The SQLite handle, for what only SQLite has (sqlite-vec, FTS5) and for tests. */
  get raw(): Database.Database {
    if (!(this.driver instanceof SqliteDriver)) throw new Error('this store runs on PostgreSQL: no SQLite handle');
    return this.driver.raw;
  }

  all<R>(query: Query<R>): R[] {
    const { sql, parameters } = this.compile(query);
    return this.driver.query(sql, parameters).rows as R[];
  }

  first<R>(query: Query<R>): R | undefined {
    const { sql, parameters } = this.compile(query);
    if (this.driver instanceof SqliteDriver) return this.driver.first(sql, parameters) as R | undefined;
    return this.driver.query(sql, parameters).rows[0] as R | undefined;
  }

  run(query: Query<unknown>): { changes: number } {
    const { sql, parameters } = this.compile(query);
    return { changes: this.driver.query(sql, parameters).changes };
  }

  private compile(query: Query<unknown>): { sql: string; parameters: readonly unknown[] } {
    if (!(query instanceof Bound)) return query.compile();
    let compiled = this.compiled.get(query.statement);
    if (!compiled) {
      const standIns = new Proxy({}, { get: (_, name) => new Argument(String(name)) });
      const { sql, parameters } = query.statement.build(this.q, standIns).compile();
      compiled = { sql, slots: parameters.map((p) => (p instanceof Argument ? { arg: p.name } : { value: p })) };
      this.compiled.set(query.statement, compiled);
    }
    const args = query.args as Record<string, unknown>;
    // An argument left undefined binds NULL (better-sqlite3 and pg refuse undefined).
    return { sql: compiled.sql, parameters: compiled.slots.map((slot) => ('arg' in slot ? args[slot.arg] ?? null : slot.value)) };
  }

  /** Plain SQL with `?` placeholders, for the few statements Kysely does not build (numbered for PostgreSQL). */
  sql<R = Record<string, unknown>>(text: string, ...params: unknown[]): R[] {
    return this.driver.query(this.dialect === 'postgres' ? numbered(text) : text, params).rows as R[];
  }

  /** Runs `fn` in one transaction; writes of other processes wait for it (see each driver). */
  tx<T>(fn: () => T): T {
    return this.driver.tx(fn);
  }

  ping(): void {
    this.driver.query('select 1', []);
  }

  close(): void {
    this.driver.close();
  }
}

/** Kysely only compiles here: the drivers above run what it builds. */
function compileOnly(dialect: 'sqlite' | 'postgres'): Dialect {
  const sqlite = dialect === 'sqlite';
  return {
    createAdapter: () => (sqlite ? new SqliteAdapter() : new PostgresAdapter()),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => (sqlite ? new SqliteIntrospector(db) : new PostgresIntrospector(db)),
    createQueryCompiler: () => (sqlite ? new SqliteQueryCompiler() : new PostgresQueryCompiler()),
  };
}

/** `?` to `$1, $2, ...`, outside quoted strings. */
export function numbered(text: string): string {
  let n = 0;
  let quoted = false;
  let out = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    out += ch === '?' && !quoted ? `$${++n}` : ch;
  }
  return out;
}

export interface StoreLocation {
  driver: 'sqlite' | 'postgres';
  /** The SQLite file. */
  path: string;
  /** The PostgreSQL server (postgres://...). */
  url: string;
}

/** Opens and migrates the configured database. */
export function openStoreDb(location: StoreLocation): Db {
  if (location.driver === 'postgres') {
    const db = new Db(new PostgresDriver(location.url));
    try {
      migratePostgres(db.driver);
    } catch (err) {
      db.close();
      throw err;
    }
    return db;
  }
  return openDb(location.path);
}

export function openDb(file: string): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const raw = new Database(file);
  // First, so that a gateway and its workers opening a new database together wait for each other.
  raw.pragma('busy_timeout = 5000');
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  sqliteVec.load(raw);
  migrate(raw);
  return new Db(new SqliteDriver(raw));
}

/**
 * Applies `migrations/NNN_name.sql` files not applied yet, each in its own transaction, in name order.
 * Several processes may start at once on one file: each migration is checked again under the write lock.
 */
export function migrate(raw: Database.Database, dir = MIGRATIONS_DIR): string[] {
  raw.exec('create table if not exists schema_migrations (name text primary key, applied_at integer not null)');
  const isApplied = raw.prepare('select 1 from schema_migrations where name = ?');
  const names = fs.readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const name of names) {
    if (isApplied.get(name)) continue;
    const sqlText = fs.readFileSync(path.join(dir, name), 'utf8');
    raw.transaction(() => {
      if (isApplied.get(name)) return;
      raw.exec(sqlText);
      raw.prepare('insert into schema_migrations (name, applied_at) values (?, ?)').run(name, Date.now());
      applied.push(name);
    }).immediate();
  }
  return applied;
}

/**
 * PostgreSQL's schema: `migrations/postgres/NNN_name.sql`, each applied once in its own transaction.
 * An advisory lock makes processes that start together on a new database take turns.
 */
export function migratePostgres(driver: SqlDriver, dir = path.join(MIGRATIONS_DIR, 'postgres')): string[] {
  // Under the transactions' lock: two "create table if not exists" at once can still collide.
  driver.tx(() => driver.exec('create table if not exists schema_migrations (name text primary key, applied_at bigint not null)'));
  const names = fs.readdirSync(dir).filter((f) => /^\d+_.+\.sql$/.test(f)).sort();
  const applied: string[] = [];
  for (const name of names) {
    const isApplied = () => driver.query('select 1 from schema_migrations where name = $1', [name]).rows.length > 0;
    if (isApplied()) continue;
    const sqlText = fs.readFileSync(path.join(dir, name), 'utf8');
    driver.tx(() => {
      if (isApplied()) return;
      driver.exec(sqlText);
      driver.query('insert into schema_migrations (name, applied_at) values ($1, $2)', [name, Date.now()]);
      applied.push(name);
    });
  }
  return applied;
}
