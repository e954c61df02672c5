import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { adoptSpare, removeSpare, spareDirs } from './spares.js';

function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-spares-'));
  const spare = spareDirs(path.join(root, 'workspaces'), path.join(root, 'cli-homes', 'claude'), 'sid');
  const target = { workspace: path.join(root, 'workspaces', 'local_X-1234'), home: path.join(root, 'cli-homes', 'claude', 'local_X-5678') };
  fs.mkdirSync(spare.workspace, { recursive: true });
  fs.mkdirSync(path.join(spare.home, '.claude', 'projects', '-spare'), { recursive: true });
  fs.writeFileSync(path.join(spare.home, '.claude', '.credentials.json'), 'fresh');
  fs.writeFileSync(path.join(spare.home, '.claude', 'projects', '-spare', 'sid.jsonl'), 'new session');
  return { spare, target };
}

describe('a spare taken by a conversation', () => {
  it('becomes a new conversation\'s workspace and home, its old paths linking there', () => {
    const { spare, target } = setup();
    const cwdInode = fs.statSync(spare.workspace).ino;
    adoptSpare(spare, target);
    expect(fs.statSync(target.workspace).ino).toBe(cwdInode);
    expect(fs.readFileSync(path.join(target.home, '.claude', 'projects', '-spare', 'sid.jsonl'), 'utf8')).toBe('new session');
    expect(fs.realpathSync(spare.workspace)).toBe(target.workspace);
    expect(fs.realpathSync(spare.home)).toBe(target.home);
    removeSpare(spare);
    expect(fs.existsSync(spare.workspace) || fs.existsSync(spare.home)).toBe(false);
    expect(fs.existsSync(path.join(target.home, '.claude', 'projects', '-spare', 'sid.jsonl'))).toBe(true);
  });

  it('keeps what the conversation already had: its files, its earlier sessions; the fresh login copy wins', () => {
    const { spare, target } = setup();
    fs.mkdirSync(path.join(target.workspace, 'uploads'), { recursive: true });
    fs.writeFileSync(path.join(target.workspace, 'uploads', 'a.txt'), 'mine');
    fs.mkdirSync(path.join(target.home, '.claude', 'projects', '-old'), { recursive: true });
    fs.writeFileSync(path.join(target.home, '.claude', 'projects', '-old', 'old.jsonl'), 'old session');
    fs.writeFileSync(path.join(target.home, '.claude', '.credentials.json'), 'stale');
    adoptSpare(spare, target);
    expect(fs.readFileSync(path.join(target.workspace, 'uploads', 'a.txt'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(target.home, '.claude', 'projects', '-old', 'old.jsonl'), 'utf8')).toBe('old session');
    expect(fs.readFileSync(path.join(target.home, '.claude', 'projects', '-spare', 'sid.jsonl'), 'utf8')).toBe('new session');
    expect(fs.readFileSync(path.join(target.home, '.claude', '.credentials.json'), 'utf8')).toBe('fresh');
  });

  it('leaves the conversation\'s folders as they were when it cannot be moved', () => {
    const { spare, target } = setup();
    fs.mkdirSync(target.workspace, { recursive: true });
    fs.writeFileSync(path.join(target.workspace, 'keep.txt'), 'mine');
    fs.mkdirSync(path.join(spare.workspace, 'keep.txt')); // in the way: the spare's folders are not used
    fs.mkdirSync(path.join(target.home, '.claude', 'projects', '-old'), { recursive: true });
    expect(() => adoptSpare(spare, target)).toThrow();
    expect(fs.readFileSync(path.join(target.workspace, 'keep.txt'), 'utf8')).toBe('mine');
    expect(fs.existsSync(path.join(target.home, '.claude', 'projects', '-old'))).toBe(true);
  });
});
