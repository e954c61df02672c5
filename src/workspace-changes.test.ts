import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { changesSince, snapshotWorkspace } from './workspace-changes.js';

function workspace(files: Record<string, string | Buffer>): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-changes-'));
  for (const [name, body] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), body);
  }
  return root;
}

describe('workspace changes', () => {
  it('lists files added, modified and deleted, with unified diffs, sorted by path', async () => {
    const root = workspace({ 'a.txt': 'one\ntwo\n', 'gone.txt': 'bye\n', 'same.txt': 'same\n' });
    const before = await snapshotWorkspace(root);
    fs.writeFileSync(path.join(root, 'a.txt'), 'one\nTWO\n');
    fs.rmSync(path.join(root, 'gone.txt'));
    fs.mkdirSync(path.join(root, 'src'));
    fs.writeFileSync(path.join(root, 'src/new.ts'), 'export {};\n');
    // Touched without a change of content: not a change.
    fs.utimesSync(path.join(root, 'same.txt'), new Date(), new Date(Date.now() + 5000));
    const changes = await changesSince(before);
    expect(changes.map((c) => [c.path, c.change])).toEqual([['a.txt', 'modified'], ['gone.txt', 'deleted'], ['src/new.ts', 'added']]);
    expect(changes[0]!.diff).toBe('--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+TWO\n');
    expect(changes[1]!.diff).toContain('-bye');
    expect(changes[2]!.diff).toMatch(/^--- \/dev\/null\n\+\+\+ b\/src\/new\.ts\n@@ -0,0 \+1,1 @@\n\+export \{\};\n$/);
  });

  it('skips .git and node_modules, and gives no diff for a binary file', async () => {
    const root = workspace({ 'pic.bin': Buffer.from([1, 2, 3]) });
    const before = await snapshotWorkspace(root);
    fs.mkdirSync(path.join(root, '.git'));
    fs.writeFileSync(path.join(root, '.git/HEAD'), 'ref\n');
    fs.mkdirSync(path.join(root, 'node_modules/x'), { recursive: true });
    fs.writeFileSync(path.join(root, 'node_modules/x/index.js'), '1\n');
    fs.writeFileSync(path.join(root, 'pic.bin'), Buffer.from([0, 1, 2, 3]));
    expect(await changesSince(before)).toEqual([{ path: 'pic.bin', change: 'modified', diff: null, note: 'binary file' }]);
  });

  it('a workspace that did not exist yet: every file is added', async () => {
    const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-changes-')), 'later');
    const before = await snapshotWorkspace(root);
    fs.mkdirSync(root);
    fs.writeFileSync(path.join(root, 'x.md'), '# x\n');
    expect((await changesSince(before)).map((c) => c.change)).toEqual(['added']);
  });
});
