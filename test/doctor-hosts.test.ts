/**
 * `cligate doctor`'s checks for several hosts on one PostgreSQL: the shared volume's marker (in the
 * database and on disk) and the clock against the database server's. Each "host" is a store opened
 * on the same database with its own data dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load.js';
import { checkClock, checkSharedVolume, MAX_CLOCK_SKEW_MS, runDoctor, VOLUME_MARKER } from '../src/doctor.js';
import { Store } from '../src/store/index.js';
import { testConfig, tmpDir, writeConfig } from './support/harness.js';
import { PostgresServer } from './support/postgres.js';

describe('doctor, several hosts on PostgreSQL', () => {
  let pg: PostgresServer;
  let url: string;
  const stores: Store[] = [];
  const host = () => {
    const store = Store.open({ driver: 'postgres', url, path: '' });
    stores.push(store);
    return store;
  };

  beforeAll(async () => {
    pg = await PostgresServer.start();
    url = await pg.createDatabase();
  });
  afterAll(async () => {
    for (const store of stores) store.close();
    await pg?.stop();
  });

  it('marks the shared volume on the first run, passes on the same one and names the fix on another', () => {
    const shared = tmpDir();
    const first = checkSharedVolume(host(), shared, path.join(shared, 'workspaces'));
    expect(first.ok).toBe(true);
    expect(first.message).toMatch(/marked as the shared volume/);
    const id = fs.readFileSync(path.join(shared, VOLUME_MARKER), 'utf8').trim();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.message).toContain(id);
    // The workspace root is a folder of the same volume: one marker.
    expect(fs.existsSync(path.join(shared, 'workspaces', VOLUME_MARKER))).toBe(false);

    // Another host, the same volume (and the same host again).
    const again = checkSharedVolume(host(), shared, path.join(shared, 'workspaces'));
    expect(again).toEqual({ ok: true, message: `${shared} writable, the shared volume (${id})` });

    // Another host whose data dir is a local, empty folder: it fails and creates nothing.
    const local = tmpDir();
    const elsewhere = checkSharedVolume(host(), local, path.join(local, 'workspaces'));
    expect(elsewhere.ok).toBe(false);
    expect(elsewhere.message).toContain(`this host's gateway.data_dir (${local}) is not the volume the other hosts share: mount the shared volume there`);
    expect(elsewhere.message).toContain(`the database expects ${id}`);
    expect(fs.existsSync(path.join(local, VOLUME_MARKER))).toBe(false);

    // A folder marked by another cluster (another database) fails too.
    fs.writeFileSync(path.join(local, VOLUME_MARKER), 'some-other-id\n');
    const other = checkSharedVolume(host(), local);
    expect(other.ok).toBe(false);
    expect(other.message).toContain('holds some-other-id');
  });

  it('holds a workspace root outside the data dir to the same mark', async () => {
    const db = await pg.createDatabase();
    const store = Store.open({ driver: 'postgres', url: db, path: '' });
    stores.push(store);
    const [data, workspaces] = [tmpDir(), tmpDir()];
    const first = checkSharedVolume(store, data, workspaces);
    expect(first.ok).toBe(true);
    const id = fs.readFileSync(path.join(data, VOLUME_MARKER), 'utf8');
    expect(fs.readFileSync(path.join(workspaces, VOLUME_MARKER), 'utf8')).toBe(id);
    expect(checkSharedVolume(store, data, workspaces).ok).toBe(true);

    const missing = checkSharedVolume(store, data, tmpDir());
    expect(missing.ok).toBe(false);
    expect(missing.message).toMatch(/^this host's workspace\.root \(.*\) is not the volume the other hosts share: mount the shared volume there/);
  });

  it('fails on a data dir it cannot write', () => {
    const file = path.join(tmpDir(), 'not-a-folder');
    fs.writeFileSync(file, '');
    const result = checkSharedVolume(host(), file);
    expect(result.ok).toBe(false);
    expect(result.message).toContain(`gateway.data_dir (${file}) is not writable`);
  });

  it("compares this host's clock with the database server's", () => {
    const store = host();
    const here = checkClock(store);
    expect(here.ok).toBe(true);
    expect(here.warn).toBeUndefined();
    expect(Math.abs(here.skewMs!)).toBeLessThanOrEqual(MAX_CLOCK_SKEW_MS);
    expect(here.message).toMatch(/^within \d+ ms of the database server's/);

    const ahead = checkClock(store, () => Date.now() + 5_000);
    expect(ahead).toMatchObject({ ok: true, warn: true });
    expect(ahead.message).toMatch(/^this host's clock is 5\.\d s ahead of the database server's; .*sync this host's clock \(NTP\)$/);
    const behind = checkClock(store, () => Date.now() - 3_000);
    expect(behind.message).toMatch(/is 3\.\d s behind/);
  });

  it('prints both checks in `cligate doctor` on PostgreSQL, and neither on SQLite', async () => {
    const dir = tmpDir();
    const lines = async (store: Record<string, string>) => {
      const loaded = loadConfig(writeConfig(dir, testConfig(path.join(dir, 'data'), {
        store,
        // Only the database's checks matter here: no voice, and a CLI that answers at once (and fails).
        voice: { backend: 'off' },
        engine: { claude: { path: '/bin/false' } },
      })), {});
      if (!loaded.ok) throw new Error(loaded.error);
      const printed: string[] = [];
      await runDoctor(loaded.config, (line) => printed.push(line));
      return printed;
    };
    const onPostgres = await lines({ driver: 'postgres', url: await pg.createDatabase() });
    expect(onPostgres).toContainEqual(expect.stringMatching(/^✓ shared path: .*marked as the shared volume/));
    expect(onPostgres).toContainEqual(expect.stringMatching(/^✓ clock: within \d+ ms of the database server's/));
    const onSqlite = await lines({ driver: 'sqlite' });
    expect(onSqlite.filter((line) => /^. (shared path|clock):/.test(line))).toEqual([]);
  });
});
