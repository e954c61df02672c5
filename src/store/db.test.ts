import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb, Statement } from './db.js';

// The built module: the process below is plain node, as a gateway or a worker is.
const DB_MODULE = fileURLToPath(new URL('../../dist/src/store/db.js', import.meta.url));

function openInProcess(file: string): Promise<string> {
  const script = `import { openDb } from ${JSON.stringify(DB_MODULE)};
try { openDb(process.argv[1]).close(); console.log('ok'); } catch (e) { console.log(e.message); }`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', () => resolve(out.trim()));
  });
}

describe('openDb', () => {
  it('waits for another process migrating the same new database, and applies nothing twice', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-db-')), 'cligate.db');
    // Another process (a gateway starting beside its workers) is half-way through the migrations.
    const other = new Database(file);
    other.pragma('journal_mode = WAL');
    other.exec('create table schema_migrations (name text primary key, applied_at integer not null)');
    other.exec('begin immediate');
    migrate(other);
    const opening = openInProcess(file);
    // Long enough for it to see no migrations applied and to wait for the write lock.
    await new Promise((r) => setTimeout(r, 1500));
    other.exec('commit');
    other.close();
    expect(await opening).toBe('ok');
    const db = openDb(file);
    const names = (db.raw.prepare('select name from schema_migrations').all() as { name: string }[]).map((r) => r.name);
    expect(names).toEqual([...new Set(names)]);
    db.close();
  });
});

describe('Statement', () => {
  it('compiles once and binds each call its own arguments, keeping the values fixed in it', () => {
    const db = openDb(':memory:');
    const now = 1_700_000_000_000;
    const insert = new Statement((q, a: { id: string; at: number; title: string | null }) => q.insertInto('conversations').values({
      id: a.id, platform: 'http', chat_id: a.id, thread_id: '', user_id: 'u', title: a.title, engine: null, permission_mode: null,
      active_session_id: null, last_message_at: a.at, created_at: a.at, updated_at: a.at,
    }));
    const titled = new Statement((q, a: { platform: string }) => q.selectFrom('conversations').select('id')
      .where('platform', '=', a.platform).where('title', 'is not', null).where('id', 'in', ['one', 'three']).orderBy('id'));
    db.run(insert.with({ id: 'one', at: now, title: 'first' }));
    db.run(insert.with({ id: 'two', at: now + 1, title: 'second' }));
    db.run(insert.with({ id: 'three', at: now + 2, title: undefined as unknown as null }));
    expect(db.all(titled.with({ platform: 'http' }))).toEqual([{ id: 'one' }]);
    expect(db.all(titled.with({ platform: 'slack' }))).toEqual([]);
    expect(db.first(db.q.selectFrom('conversations').select(['title', 'created_at']).where('id', '=', 'two'))).toEqual({ title: 'second', created_at: now + 1 });
    db.close();
  });
});
