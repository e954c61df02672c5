/** The tests' own PostgreSQL: it starts, serves two databases, and leaves no process behind. */
import fs from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { PostgresServer } from './postgres.js';

/** Pids of the processes working in `dir`: every postgres process has its data folder as its working folder. */
function processesIn(dir: string): number[] {
  return fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name)).flatMap((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/cwd`).startsWith(dir) ? [Number(pid)] : [];
    } catch {
      return []; // gone, or not ours to look at
    }
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('PostgresServer', () => {
  it('serves its database and a second one on 127.0.0.1, then stops without leaving a process', async () => {
    const server = await PostgresServer.start();
    try {
      expect(server.url).toBe(`postgres://cligate@127.0.0.1:${server.port}/cligate`);
      expect(await server.psql('select current_user, current_database(), 1')).toBe('cligate|cligate|1');

      const second = await server.createDatabase('second');
      expect(second).toBe(`postgres://cligate@127.0.0.1:${server.port}/second`);
      await server.psql('create table t (n int); insert into t values (7)', second);
      expect(await server.psql('select n from t', second)).toBe('7');
      // A fresh database, not a copy of the other one.
      await expect(server.psql('select n from t')).rejects.toThrow(/relation "t" does not exist/);
      expect(await server.createDatabase()).toMatch(/\/test_1$/);

      expect(processesIn(server.dir).length).toBeGreaterThan(1); // the check below would see them
    } finally {
      await server.stop();
    }
    expect(processesIn(server.dir)).toEqual([]);
    expect(await accepts(server.port)).toBe(false);
    expect(fs.existsSync(server.dir)).toBe(false);
  }, 30_000);
});
