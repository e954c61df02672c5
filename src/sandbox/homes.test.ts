import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claudeProjectDir, conversationHome, forgetHomes, prepareHome } from './homes.js';

let dir: string;
afterEach(() => dir && fs.rmSync(dir, { recursive: true, force: true }));

function setup() {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-homes-'));
  const login = path.join(dir, 'login');
  fs.mkdirSync(login);
  fs.writeFileSync(path.join(login, '.credentials.json'), '{"token":"t1"}');
  fs.writeFileSync(path.join(login, '.claude.json'), '{"userID":"u"}');
  return { login, data: path.join(dir, 'data') };
}

describe('a CLI home per conversation', () => {
  it('is one folder per conversation and engine, under the data dir', () => {
    const a = conversationHome('/data', 'claude', 'slack:C1/T1');
    expect(a).toMatch(/^\/data\/cli-homes\/claude\/slack_C1_T1-[0-9a-f]{12}$/);
    expect(conversationHome('/data', 'claude', 'slack:C1/T2')).not.toBe(a);
    expect(conversationHome('/data', 'codex', 'slack:C1/T1')).not.toBe(a);
  });

  it('Claude: points CLAUDE_CONFIG_DIR and HOME at it, with a copy of the login and nothing else of it', () => {
    const { login, data } = setup();
    fs.mkdirSync(path.join(login, 'projects', 'someone-else'), { recursive: true });
    const home = conversationHome(data, 'claude', 'local:A');
    const made = prepareHome('claude', home, { CLAUDE_CONFIG_DIR: login }, path.join(data, 'workspaces', 'a'));
    expect(made.env).toEqual({ HOME: home, CLAUDE_CONFIG_DIR: path.join(home, '.claude') });
    expect(made.login).toEqual([login]);
    expect(fs.readFileSync(path.join(home, '.claude', '.credentials.json'), 'utf8')).toBe('{"token":"t1"}');
    expect(fs.readFileSync(path.join(home, '.claude', '.claude.json'), 'utf8')).toBe('{"userID":"u"}');
    expect(fs.existsSync(path.join(home, '.claude', 'projects', 'someone-else'))).toBe(false);
  });

  it('credentials follow the login when it is newer; the CLI\'s own state is kept', () => {
    const { login, data } = setup();
    const home = conversationHome(data, 'claude', 'local:A');
    prepareHome('claude', home, { CLAUDE_CONFIG_DIR: login }, '/w');
    fs.writeFileSync(path.join(home, '.claude', '.claude.json'), '{"changed":"by the CLI"}');
    fs.writeFileSync(path.join(login, '.credentials.json'), '{"token":"t2"}');
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(path.join(login, '.credentials.json'), later, later);
    prepareHome('claude', home, { CLAUDE_CONFIG_DIR: login }, '/w');
    expect(fs.readFileSync(path.join(home, '.claude', '.credentials.json'), 'utf8')).toBe('{"token":"t2"}');
    expect(fs.readFileSync(path.join(home, '.claude', '.claude.json'), 'utf8')).toBe('{"changed":"by the CLI"}');
  });

  it('moves the workspace\'s sessions from the shared login on first use, so the conversation resumes', () => {
    const { login, data } = setup();
    const cwd = path.join(data, 'workspaces', 'local_A-1234');
    const project = path.join(login, 'projects', claudeProjectDir(cwd));
    fs.mkdirSync(project, { recursive: true });
    fs.writeFileSync(path.join(project, 'session-1.jsonl'), '{}\n');
    const home = conversationHome(data, 'claude', 'local:A');
    prepareHome('claude', home, { CLAUDE_CONFIG_DIR: login }, cwd);
    expect(fs.readFileSync(path.join(home, '.claude', 'projects', claudeProjectDir(cwd), 'session-1.jsonl'), 'utf8')).toBe('{}\n');
    expect(fs.existsSync(project)).toBe(false);
    expect(claudeProjectDir('/tmp/x/data/workspaces/local_BU-4af3438b')).toBe('-tmp-x-data-workspaces-local-BU-4af3438b');
  });

  it('without CLAUDE_CONFIG_DIR the login is ~/.claude and ~/.claude.json', () => {
    const { data } = setup();
    const fakeHome = path.join(dir, 'home');
    fs.mkdirSync(path.join(fakeHome, '.claude'), { recursive: true });
    fs.writeFileSync(path.join(fakeHome, '.claude.json'), '{"oauthAccount":{}}');
    const home = conversationHome(data, 'claude', 'local:A');
    const made = prepareHome('claude', home, { HOME: fakeHome }, '/w');
    expect(made.login).toEqual([path.join(fakeHome, '.claude'), path.join(fakeHome, '.claude.json')]);
    expect(fs.readFileSync(path.join(home, '.claude', '.claude.json'), 'utf8')).toBe('{"oauthAccount":{}}');
  });

  it('/forget deletes every engine\'s home of the conversation, and only its', () => {
    const { login, data } = setup();
    for (const chat of ['local:A', 'local:B']) prepareHome('claude', conversationHome(data, 'claude', chat), { CLAUDE_CONFIG_DIR: login }, '/w');
    prepareHome('codex', conversationHome(data, 'codex', 'local:A'), { HOME: dir }, '/w');
    forgetHomes(data, 'local:A');
    expect(fs.existsSync(conversationHome(data, 'claude', 'local:A'))).toBe(false);
    expect(fs.existsSync(conversationHome(data, 'codex', 'local:A'))).toBe(false);
    expect(fs.existsSync(conversationHome(data, 'claude', 'local:B'))).toBe(true);
  });

  it('Codex and Gemini: CODEX_HOME / HOME of their own with the login copied in', () => {
    const { data } = setup();
    const fakeHome = path.join(dir, 'home');
    fs.mkdirSync(path.join(fakeHome, '.codex'), { recursive: true });
    fs.mkdirSync(path.join(fakeHome, '.gemini'), { recursive: true });
    fs.writeFileSync(path.join(fakeHome, '.codex', 'auth.json'), 'codex-auth');
    fs.writeFileSync(path.join(fakeHome, '.gemini', 'settings.json'), 'gemini-settings');
    const codex = prepareHome('codex', conversationHome(data, 'codex', 'c'), { HOME: fakeHome }, '/w');
    expect(codex.env.CODEX_HOME).toBe(path.join(codex.home, '.codex'));
    expect(fs.readFileSync(path.join(codex.home, '.codex', 'auth.json'), 'utf8')).toBe('codex-auth');
    const gemini = prepareHome('gemini', conversationHome(data, 'gemini', 'c'), { HOME: fakeHome }, '/w');
    expect(gemini.env).toEqual({ HOME: gemini.home });
    expect(fs.readFileSync(path.join(gemini.home, '.gemini', 'settings.json'), 'utf8')).toBe('gemini-settings');
  });
});
