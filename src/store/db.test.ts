import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { migrate, openDb } from './db.js';

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
