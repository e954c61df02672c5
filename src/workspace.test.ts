import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveInside, safeFileName, saveUpload, workspacePath } from './workspace.js';

const root = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-ws-'));

describe('workspaces', () => {
  it('gives each conversation its own folder, with a readable and safe name', () => {
    const r = root();
    const a = workspacePath(r, 'telegram:-100123:7');
    const b = workspacePath(r, 'telegram:-100123:8');
    expect(a).not.toBe(b);
    expect(path.dirname(a)).toBe(r);
    expect(path.basename(workspacePath(r, '../../etc:passwd'))).toMatch(/^_etc_passwd-[0-9a-f]{8}$/);
  });

  it('resolves paths inside the workspace and refuses .., absolute paths and symlinks out', () => {
    const ws = path.join(root(), 'ws');
    fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'sub', 'ok.txt'), 'x');
    fs.symlinkSync('/etc', path.join(ws, 'etc-link'));
    fs.symlinkSync(path.join(ws, 'sub', 'ok.txt'), path.join(ws, 'inner-link'));
    expect(resolveInside(ws, 'sub/ok.txt')).toMatchObject({ ok: true, relative: 'sub/ok.txt' });
    expect(resolveInside(ws, 'inner-link')).toMatchObject({ ok: true, relative: 'sub/ok.txt' });
    expect(resolveInside(ws, '../outside')).toEqual({ ok: false, error: "That path leaves the conversation's workspace." });
    expect(resolveInside(ws, 'sub/../../x')).toMatchObject({ ok: false });
    expect(resolveInside(ws, '/etc/passwd')).toMatchObject({ ok: false, error: expect.stringMatching(/not an absolute one/) });
    expect(resolveInside(ws, 'etc-link/passwd')).toMatchObject({ ok: false, error: expect.stringMatching(/through a link/) });
    expect(resolveInside(ws, 'a\0b')).toMatchObject({ ok: false });
  });

  it('saves uploads under uploads/ whatever their name, never overwriting', () => {
    const ws = path.join(root(), 'ws');
    expect(saveUpload(ws, '../../../etc/evil.sh', new Uint8Array([1])).relative).toBe('uploads/evil.sh');
    expect(saveUpload(ws, 'evil.sh', new Uint8Array([2])).relative).toBe('uploads/evil-2.sh');
    expect(saveUpload(ws, '.bashrc', new Uint8Array([3])).relative).toBe('uploads/bashrc');
    expect(safeFileName('..\\..\\win.ini')).toBe('win.ini');
    expect(safeFileName('\u0000\u0007')).toBe('file');
    expect(fs.readdirSync(path.join(ws, 'uploads')).sort()).toEqual(['bashrc', 'evil-2.sh', 'evil.sh']);
  });
});
