/**
 * What a conversation's CLI can reach, tried from inside with the real `claude` CLI (bypassPermissions,
 * so its Bash tool runs unasked) against the stand-in, and with the real `codex` and `gemini` CLIs
 * (told to run tools unasked) against theirs (`[[run <command>]]`, test/support/engine-fakes.ts).
 * The gateway's secrets are in its environment; one gateway serves every case; sandbox.mode is
 * "auto", which is bubblewrap on these machines (the first test fails loudly if it is not).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationHome } from '../src/sandbox/homes.js';
import { workspacePath } from '../src/workspace.js';
import type { EngineName } from '../src/config/schema.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { GeminiFake, OpenAiFake } from './support/engine-fakes.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { cliEnv, eventually, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';

const anthropic = new AnthropicFake();
const openai = new OpenAiFake();
const gemini = new GeminiFake();
const SECRETS = { SLACK_SIGNING_SECRET: 'slack-signing-secret-value', REDIS_URL: 'redis://:redis-password@127.0.0.1:1', CLIGATE_SECRET_THING: 'cligate-thing' };
let t: TestGateway;
let dataDir: string;
/**
 * The gateway's folder (config file, data dir) and the Codex and Gemini logins sit outside /tmp, which is
 * private inside the sandbox anyway: so what hides them is the sandbox's own doing.
 */
const outsideTmp = fs.mkdtempSync('/var/tmp/cligate-iso-');
const login = path.join(outsideTmp, 'login');

/**
 * Claude with bypassPermissions; Codex and Gemini enabled, against their stand-ins, told to run their
 * shell tools unasked (as an operator would behind bubblewrap): codex without its own sandbox and
 * approvals, and passing its whole environment to commands (its default drops names with KEY, SECRET,
 * TOKEN: only cligate's allow-list is tried here); gemini in yolo mode.
 */
function engines(login = tmpDir('cligate-login-')): Record<string, unknown> {
  fs.mkdirSync(path.join(login, '.codex'), { recursive: true });
  fs.writeFileSync(path.join(login, '.codex', 'config.toml'), '# the login\'s own settings\n');
  fs.mkdirSync(path.join(login, '.gemini'), { recursive: true });
  fs.writeFileSync(path.join(login, '.gemini', 'settings.json'), JSON.stringify({ security: { auth: { selectedType: 'gemini-api-key' } } }));
  return {
    claude: { permission_mode: 'bypassPermissions' },
    codex: {
      enabled: true, model: 'gpt-fake',
      extra_args: [
        '-c', 'model_provider=fake', '-c', `model_providers.fake={name="fake",base_url="${openai.url}/v1",env_key="OPENAI_API_KEY",wire_api="responses",request_max_retries=0,stream_max_retries=0}`,
        '--dangerously-bypass-approvals-and-sandbox', '-c', 'shell_environment_policy.ignore_default_excludes=true',
      ],
      env: { HOME: login, OPENAI_API_KEY: 'sk-fake-openai' },
    },
    gemini: {
      enabled: true, model: 'gemini-2.5-flash', extra_args: ['--approval-mode', 'yolo'],
      env: { HOME: login, GEMINI_API_KEY: 'fake-gemini-key', GOOGLE_GEMINI_BASE_URL: gemini.url },
    },
  };
}

beforeAll(async () => {
  await Promise.all([anthropic.start(), openai.start(), gemini.start()]);
  fs.mkdirSync(path.join(outsideTmp, 'gateway'));
  t = await startTestGateway(anthropic, { dir: path.join(outsideTmp, 'gateway'), config: { engine: engines(login) }, env: SECRETS });
  dataDir = t.config.gateway.data_dir;
}, 60_000);

afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), openai.stop(), gemini.stop()]);
  fs.rmSync(outsideTmp, { recursive: true, force: true });
});

/** Sends `text` to chat `chat` of gateway `g`; resolves with the next final answer there. */
async function say(g: TestGateway, chat: string, text: string): Promise<string> {
  const before = g.adapter.finals(chat).length;
  await g.adapter.say(chat, text);
  return eventually(() => g.adapter.finals(chat)[before], 60_000, `the answer to ${text}`);
}

/** Files under `dir` whose path matches `pattern` (a CLI's session files in its home). */
function filesUnder(dir: string, pattern: RegExp): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => pattern.test(f)).map((f) => path.join(dir, f));
}

/** Where each engine keeps a session in its home, and a line only a session file holds. */
const SESSIONS: Record<'codex' | 'gemini', { files: RegExp; inside: RegExp }> = {
  codex: { files: /sessions\/.*rollout-.*\.jsonl$/, inside: /"session_meta"/ },
  gemini: { files: /chats\/.*\.jsonl?$/, inside: /"sessionId"/ },
};

/** Runs `command` through Claude's Bash tool in chat `chat`; resolves with what the tool printed. */
async function bash(chat: string, command: string): Promise<string> {
  const before = t.adapter.finals(chat).length;
  await t.adapter.say(chat, `[[tool Bash: ${command}]]`);
  return eventually(() => t.adapter.finals(chat).slice(before).find((f) => f.startsWith('tool said')), 60_000, `the answer to ${command}`);
}

const workspace = (chat: string) => workspacePath(t.config.workspace.root, `local:${chat}`);
const home = (chat: string) => conversationHome(dataDir, 'claude', `local:${chat}`);

describe('a conversation\'s CLI', () => {
  it('runs under bubblewrap here', () => {
    expect(t.gateway.engines!.sandbox.mode).toBe('bwrap');
  });

  it('sees none of the gateway\'s secrets in its environment', async () => {
    const env = await bash('env', 'env');
    expect(env).toMatch(/PATH=/);
    for (const value of Object.values(SECRETS)) expect(env).not.toContain(value);
    expect(env).not.toMatch(/SLACK_|REDIS_URL|CLIGATE_/);
  }, 90_000);

  it('cannot read the database, the config file, another conversation\'s files or sessions; sees no other workspace', async () => {
    // Conversation "other" has a session and a file of its own.
    await bash('other', 'echo private-note > note.txt');
    const otherFile = path.join(workspace('other'), 'note.txt');
    expect(fs.readFileSync(otherFile, 'utf8')).toBe('private-note\n');
    const otherSessions = path.join(home('other'), '.claude', 'projects');
    const sessionFile = fs.readdirSync(otherSessions, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.jsonl'));
    expect(sessionFile, 'the other conversation\'s session is in its own CLI home').toBeTruthy();

    const out = await bash('me', [
      `cat ${t.config.store.path}`, `cat ${t.config.source}`, `cat ${otherFile}`, `cat ${path.join(otherSessions, sessionFile!)}`,
    ].map((c) => `${c} 2>&1; echo rc=$?`).join('; '));
    // The config file, outside the data dir, is covered by a node that cannot be opened; the rest is not there.
    expect(out.match(/rc=1/g)).toHaveLength(4);
    expect(out).toMatch(/cligate\.toml: Permission denied/);
    expect(out).not.toMatch(/SQLite format|private-note|data_dir|"type":"user"/);

    const listing = await bash('me', `ls -a ${t.config.workspace.root} ${path.dirname(home('me'))} ${dataDir}; echo gateway-home:; ls -A ${os.homedir()}`);
    // The gateway user's home is an empty folder inside.
    expect(listing.split('gateway-home:')[1]!.trim()).toBe('');
    expect(listing).toContain(path.basename(workspace('me')));
    expect(listing).toContain(path.basename(home('me')));
    expect(listing).not.toContain(path.basename(workspace('other')));
    expect(listing).not.toContain(path.basename(home('other')));
    expect(listing).not.toContain('cligate.db');
  }, 180_000);

  it('cannot write outside its workspace; writes inside it land in the workspace; has no capabilities', async () => {
    const outside = [path.join(dataDir, 'escaped.txt'), path.join(process.cwd(), 'escaped.txt'), '/etc/escaped.txt', `/tmp/cligate-escaped-${process.pid}.txt`];
    const out = await bash('me', [...outside.map((f) => `echo x > ${f}`), 'echo inside > inside.txt', 'grep CapEff /proc/self/status'].join('; '));
    for (const file of outside) expect(fs.existsSync(file), file).toBe(false);
    // Root's capabilities are dropped (with them it could unmount what hides the gateway's files).
    expect(out).toMatch(/CapEff:\s+0+\b/);
    expect(fs.readFileSync(path.join(workspace('me'), 'inside.txt'), 'utf8')).toBe('inside\n');
  }, 90_000);

  it('resumes its own session from its own CLI home', async () => {
    await t.adapter.say('resume', 'first message');
    await eventually(() => t.adapter.finals('resume').some((f) => f.startsWith('echo: first message')), 60_000, 'the first answer');
    await t.adapter.say('resume', 'second message');
    await eventually(() => t.adapter.finals('resume').some((f) => f.startsWith('echo: second message')), 60_000, 'the second answer');
    expect(t.adapter.finals('resume').join('\n')).not.toMatch(/could not be found/);
    const sessions = t.gateway.store.db.all(t.gateway.store.db.q.selectFrom('sessions').selectAll().where('conversation_id', '=', 'local:resume'));
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.turns).toBe(2);
    const id = sessions[0]!.engine_session_id!;
    const files = fs.readdirSync(path.join(home('resume'), '.claude', 'projects'), { recursive: true, encoding: 'utf8' });
    expect(files.some((f) => f.endsWith(`${id}.jsonl`))).toBe(true);
    // /forget deletes the transcripts with the sessions.
    await t.adapter.say('resume', '/forget confirm');
    await eventually(() => t.adapter.finals('resume').some((f) => f.startsWith('Forgotten')), 10_000, '/forget');
    expect(fs.existsSync(home('resume'))).toBe(false);
  }, 120_000);

  it('reads the files the person sends: uploads arrive in its workspace', async () => {
    const data = new TextEncoder().encode('uploaded-content-42\n');
    await t.gateway.intake!.receive({
      address: { platform: 'local', chatId: 'upload' }, userId: 'tester', text: '[[tool Bash: cat uploads/notes.txt]]', messageId: 'up-1',
      files: [{ name: 'notes.txt', size: data.byteLength, mime: 'text/plain', download: async () => data }],
    });
    const answer = await eventually(() => t.adapter.finals('upload').find((f) => f.startsWith('tool said')), 60_000, 'the answer');
    expect(answer).toContain('uploaded-content-42');
  }, 90_000);

  it('/stop leaves no process of the turn behind', async () => {
    // (Claude's Bash tool refuses a bare long `sleep`.)
    await t.adapter.say('stop', '[[tool Bash: python3 -c "import time; time.sleep(47.25)"]]');
    const running = () => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('time.sleep(47.25)');
      } catch {
        return false;
      }
    });
    await eventually(running, 60_000, 'the command running');
    await t.adapter.say('stop', '/stop');
    await eventually(() => !running(), 15_000, 'no process left');
  }, 90_000);
});

describe.each(['codex', 'gemini'] as const)('a conversation\'s %s CLI, under bubblewrap', (engine) => {
  const chat = (name: string) => `${engine}-${name}`;
  const cliHome = (name: string) => conversationHome(dataDir, engine, `local:${chat(name)}`);

  it('sees no secret, database, config, other conversation\'s files, sessions or workspace; writes only inside; resumes', async () => {
    // Conversation "other" has a file and a session of its own.
    expect(await say(t, chat('other'), `/engine ${engine}`)).toMatch(/^Switched to/);
    expect(await say(t, chat('other'), '[[run echo private-note > note.txt]]')).toMatch(/^tool said: /);
    const otherFile = path.join(workspace(chat('other')), 'note.txt');
    expect(fs.readFileSync(otherFile, 'utf8')).toBe('private-note\n');
    const [sessionFile] = filesUnder(cliHome('other'), SESSIONS[engine].files);
    expect(sessionFile, 'the other conversation\'s session is in its own CLI home').toBeTruthy();
    expect(fs.readFileSync(sessionFile!, 'utf8')).toMatch(SESSIONS[engine].inside);

    await say(t, chat('me'), `/engine ${engine}`);
    // The other engines' logins: Claude's (CLAUDE_CONFIG_DIR, outside the home and the data dir) and the other CLI's.
    const claudeLogin = path.join(outsideTmp, 'gateway', 'claude-config');
    fs.writeFileSync(path.join(claudeLogin, 'login-marker'), 'claude-login-secret');
    const otherLogin = engine === 'codex' ? path.join(login, '.gemini', 'settings.json') : path.join(login, '.codex', 'config.toml');
    const outside = [path.join(dataDir, `escaped-${engine}.txt`), path.join(process.cwd(), `escaped-${engine}.txt`), `/etc/escaped-${engine}.txt`, `/tmp/cligate-escaped-${engine}-${process.pid}.txt`];
    const out = await say(t, chat('me'), `[[run env; echo @@cat; ${
      [t.config.store.path, t.config.source, otherFile, sessionFile!].map((f) => `cat ${f} 2>&1; echo rc=$?`).join('; ')
    }; echo @@ls; ls -a ${t.config.workspace.root} ${path.dirname(cliHome('me'))} ${dataDir}; echo @@end; echo gateway-home:; ls -A ${os.homedir()} | wc -l; echo login:; ls -A ${path.join(login, `.${engine}`)} | wc -l; echo @@logins; cat ${path.join(claudeLogin, 'login-marker')} ${otherLogin} 2>&1; echo rc=$?; echo @@run; ls -A /run; echo @@procs; ls /proc | grep -c '^[0-9]*$'; grep CapEff /proc/self/status; { ${
      outside.map((f) => `echo x > ${f}`).join('; ')
    }; } 2>/dev/null; echo inside > inside.txt]]`);
    // (Codex reports a command's stderr apart from its stdout: each part ends with a marker of its own.)
    expect(out).toMatch(/^tool said: [\s\S]*@@end/);
    const [env, cat, listing] = out.split(/@@cat|@@ls|@@end/);
    expect(env).toMatch(/PATH=/);
    expect(env).toContain(`HOME=${cliHome('me')}`);
    for (const value of Object.values(SECRETS)) expect(env).not.toContain(value);
    expect(env).not.toMatch(/SLACK_|REDIS_URL|CLIGATE_/);
    // The config file, outside the data dir, is covered by a node that cannot be opened; the rest is not there.
    expect(cat!.match(/rc=1/g)).toHaveLength(4);
    expect(cat).toMatch(/cligate\.toml: Permission denied/);
    expect(cat).not.toMatch(/SQLite format|private-note|data_dir/);
    expect(cat).not.toMatch(SESSIONS[engine].inside);
    expect(listing).toContain(path.basename(workspace(chat('me'))));
    expect(listing).toContain(path.basename(cliHome('me')));
    expect(listing).not.toContain(path.basename(workspace(chat('other'))));
    expect(listing).not.toContain(path.basename(cliHome('other')));
    expect(listing).not.toContain('cligate.db');
    // The gateway user's home is an empty folder inside.
    expect(out).toMatch(/gateway-home:\n0\b/);
    // So is its engine's login (its CLI home has a copy).
    expect(fs.readdirSync(path.join(login, `.${engine}`)).length).toBeGreaterThan(0);
    expect(out).toMatch(/login:\n0\b/);
    // No daemon's socket; its own pid namespace (a handful of processes); root's capabilities dropped.
    const logins = out.split(/@@logins|@@run/)[1]!;
    expect(logins).toMatch(/rc=1/);
    expect(logins).not.toMatch(/claude-login-secret|selectedType|the login's own settings/);
    const [, run, procs] = out.split(/@@run|@@procs/);
    expect(run).not.toMatch(/dbus|docker|systemd/);
    expect(Number(/^\s*(\d+)/.exec(procs!)?.[1])).toBeLessThan(20);
    expect(procs).toMatch(/CapEff:\s+0+\b/);
    for (const file of outside) expect(fs.existsSync(file), file).toBe(false);
    expect(fs.readFileSync(path.join(workspace(chat('me')), 'inside.txt'), 'utf8')).toBe('inside\n');

    // The next message resumes the same session, from the conversation's own CLI home.
    expect(await say(t, chat('me'), `second for ${engine}`)).toBe(`echo: second for ${engine}`);
    const fake = engine === 'codex' ? openai : gemini;
    expect(fake.requests.at(-1)!.history.some((h) => h.includes('echo @@cat'))).toBe(true);
    const sessions = t.gateway.store.conversations.sessions(`local:${chat('me')}`);
    expect(sessions).toHaveLength(1);
    expect(sessions[0]).toMatchObject({ engine, turns: 2 });
    expect(filesUnder(cliHome('me'), SESSIONS[engine].files).some((f) => fs.readFileSync(f, 'utf8').includes(sessions[0]!.engine_session_id!))).toBe(true);
  }, 120_000);
});

describe('cligate doctor', () => {
  it('prints the sandbox in force and proves it by failing to read the database from inside', async () => {
    const dir = tmpDir();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data')));
    const p = spawnCligate(['doctor', '--config', config], cliEnv(anthropic, dir));
    expect((await p.exited).code).toBe(0);
    expect(p.stdout.join('\n')).toMatch(/✓ sandbox: bubblewrap: .*Proof: from inside, `cat .*cligate\.db` failed \(.*No such file or directory\)/);
  }, 90_000);
});

describe('sandbox.mode = "none"', () => {
  let n: TestGateway;
  const login = tmpDir('cligate-login-');
  beforeAll(async () => {
    n = await startTestGateway(anthropic, { config: { engine: engines(login), sandbox: { mode: 'none' } }, env: SECRETS });
  }, 60_000);
  afterAll(async () => {
    await n?.stop();
  });

  it('still gives the CLI a clean environment and a CLI home of its own', async () => {
    await n.adapter.say('plain', '[[tool Bash: env; echo mine > mine.txt]]');
    const env = await eventually(() => n.adapter.finals('plain').find((f) => f.startsWith('tool said')), 60_000, 'the answer');
    for (const value of Object.values(SECRETS)) expect(env).not.toContain(value);
    const own = conversationHome(n.config.gateway.data_dir, 'claude', 'local:plain');
    expect(env).toContain(`CLAUDE_CONFIG_DIR=${own}/.claude`);
    expect(env).toContain(`HOME=${own}`);
    expect(fs.readFileSync(path.join(workspacePath(n.config.workspace.root, 'local:plain'), 'mine.txt'), 'utf8')).toBe('mine\n');
    // Its session is stored in its own home, not in the login's (shared) projects/.
    expect(filesUnder(path.join(own, '.claude', 'projects'), /\.jsonl$/)).toHaveLength(1);
    expect(filesUnder(path.join(n.dir, 'claude-config', 'projects'), /\.jsonl$/)).toEqual([]);
  }, 90_000);

  it.each(['codex', 'gemini'] as const)('%s too: a clean environment, and the conversation\'s session in its own CLI home', async (engine) => {
    const chat = `${engine}-plain`;
    await say(n, chat, `/engine ${engine}`);
    const env = await say(n, chat, '[[run env; echo mine > mine.txt]]');
    expect(env).toMatch(/^tool said: [\s\S]*PATH=/);
    for (const value of Object.values(SECRETS)) expect(env).not.toContain(value);
    expect(env).not.toMatch(/SLACK_|REDIS_URL|CLIGATE_/);
    const own = conversationHome(n.config.gateway.data_dir, engine, `local:${chat}`);
    expect(env).toContain(`HOME=${own}`);
    if (engine === 'codex') expect(env).toContain(`CODEX_HOME=${own}/.codex`);
    expect(fs.readFileSync(path.join(workspacePath(n.config.workspace.root, `local:${chat}`), 'mine.txt'), 'utf8')).toBe('mine\n');
    const [session] = n.gateway.store.conversations.sessions(`local:${chat}`);
    const files = filesUnder(own, SESSIONS[engine].files);
    expect(files).toHaveLength(1);
    expect(fs.readFileSync(files[0]!, 'utf8')).toContain(session!.engine_session_id!);
    // Nothing in the login's own session store.
    expect(filesUnder(path.join(login, `.${engine}`), SESSIONS[engine].files)).toEqual([]);
  }, 90_000);

  it('doctor warns that the database is readable from a CLI\'s place', async () => {
    const dir = tmpDir();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), { sandbox: { mode: 'none' } }));
    const p = spawnCligate(['doctor', '--config', config], cliEnv(anthropic, dir));
    expect((await p.exited).code).toBe(0);
    expect(p.stdout.join('\n')).toMatch(/! sandbox: none \(sandbox\.mode = "none"\).*From inside, a CLI read the database .*cligate\.db\. To contain each conversation's CLI, install bubblewrap/);
  }, 90_000);
});

describe('sandbox.run_as_user (where bubblewrap cannot run)', () => {
  let u: TestGateway;
  beforeAll(async () => {
    const dir = tmpDir();
    fs.chmodSync(dir, 0o711); // the test's own folder must let that user pass, as /srv or /var/lib would
    u = await startTestGateway(anthropic, {
      dir, config: { engine: { claude: { permission_mode: 'bypassPermissions' } }, sandbox: { mode: 'none', run_as_user: 'nobody' } }, env: SECRETS,
    });
  }, 60_000);
  afterAll(async () => {
    await u?.stop();
  });

  it('runs the CLI as that user, who works in its workspace but cannot read the database or list the gateway\'s folders', async () => {
    const data = u.config.gateway.data_dir;
    await u.adapter.say('as', `[[tool Bash: id -u; cat ${u.config.store.path} 2>&1; echo rc=$?; ls ${data} 2>&1; echo rc=$?; echo mine > mine.txt]]`);
    const out = await eventually(() => u.adapter.finals('as').find((f) => f.startsWith('tool said')), 60_000, 'the answer');
    expect(out).toMatch(/^tool said: 65534\n/);
    expect(out.match(/Permission denied/g)).toHaveLength(2);
    expect(out).not.toMatch(/SQLite format|cligate\.db\n/);
    const mine = path.join(workspacePath(u.config.workspace.root, 'local:as'), 'mine.txt');
    expect(fs.readFileSync(mine, 'utf8')).toBe('mine\n');
    expect(fs.statSync(mine).uid).toBe(65534);
  }, 90_000);

  it('with bubblewrap too: root-only files of the system and the daemons\' sockets are out of reach', async () => {
    const dir = tmpDir();
    fs.chmodSync(dir, 0o711);
    const both = await startTestGateway(anthropic, {
      dir, config: { engine: { claude: { permission_mode: 'bypassPermissions' } }, sandbox: { mode: 'bwrap', run_as_user: 'nobody' } }, env: SECRETS,
    });
    try {
      await both.adapter.say('both', `[[tool Bash: id -u; head -c 4 /etc/shadow 2>&1; echo rc=$?; ls -A /run; echo listed; cat ${both.config.store.path} 2>&1; echo rc=$?; echo mine > mine.txt]]`);
      const out = await eventually(() => both.adapter.finals('both').find((f) => f.startsWith('tool said')), 60_000, 'the answer');
      expect(out).toMatch(/^tool said: 65534\n.*Permission denied\nrc=1\n/);
      expect(out).not.toMatch(/dbus|docker|systemd/);
      expect(out).toMatch(/No such file or directory\nrc=1/);
      expect(fs.readFileSync(path.join(workspacePath(both.config.workspace.root, 'local:both'), 'mine.txt'), 'utf8')).toBe('mine\n');
    } finally {
      await both.stop();
    }
  }, 90_000);

  it('doctor proves it: that user cannot read the database', async () => {
    const dir = tmpDir();
    fs.chmodSync(dir, 0o711);
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), { sandbox: { mode: 'none', run_as_user: 'nobody' } }));
    const p = spawnCligate(['doctor', '--config', config], cliEnv(anthropic, dir));
    expect((await p.exited).code).toBe(0);
    expect(p.stdout.join('\n')).toMatch(/✓ sandbox: none, but CLIs run as user nobody .*Proof: from inside, `cat .*cligate\.db` failed \(.*Permission denied\)/);
  }, 90_000);
});
