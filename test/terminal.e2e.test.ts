/**
 * Terminal tabs (src/terminal, adapters/http/terminal.ts): a shell in the conversation's workspace over
 * a WebSocket, contained like headless runs; tickets and Origin checked before anything attaches;
 * scrollback replayed to a viewer who comes back; a Claude tab holding the session makes chat messages
 * wait. Then the web app's Terminal panel in a real headless Chromium. One gateway for the file.
 * Set TERMINAL_SCREENSHOT=<file.png> to save the panel with a shell tab.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { readSse, type SseEvent } from './support/sse.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { requireTool } from './system/host.js';
import { runShare } from '../src/terminal/share-cli.js';

const fake = new AnthropicFake();
const KEY = 'cg_term_test_key_web_0123456789';
const ADMIN_KEY = 'cg_term_test_key_admin_0123456789';
let t: TestGateway;
let url: string;
let browser: Browser | undefined;

beforeAll(async () => {
  await fake.start();
  t = await startTestGateway(fake, {
    config: {
      http: { enabled: true, port: 0, api_keys: [{ user: 'web', sha256: sha256(KEY) }, { user: 'boss', sha256: sha256(ADMIN_KEY), admin: true }] },
      terminal: { max_per_user: 20 },
    },
    adapters: (config) => [new HttpAdapter({ http: config.http })],
    env: { TERM_TEST_SECRET: 'must-not-leak' },
  });
  url = t.gateway.httpUrl!;
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await fake.stop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });
const post = (p: string, body: unknown, key = ADMIN_KEY) => fetch(url + p, { method: 'POST', headers: as(key), body: JSON.stringify(body) });

async function openTab(name: string, kind: string, key = ADMIN_KEY): Promise<{ id: string }> {
  const res = await post(`/v1/conversations/${name}/terminals`, { kind, cols: 100, rows: 30 }, key);
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

/** A socket on a tab, collecting its output as text. */
async function connect(name: string, tabId: string, key = ADMIN_KEY, origin?: string) {
  const { url: path } = await (await post(`/v1/conversations/${name}/terminals/${tabId}/ticket`, {}, key)).json();
  const ws = new WebSocket(url.replace('http', 'ws') + path, origin ? { origin } : {});
  const socket = { ws, text: '', controls: [] as any[] };
  ws.on('message', (data, binary) => {
    if (binary) socket.text += data.toString();
    else socket.controls.push(JSON.parse(data.toString()));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return socket;
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const type = (ws: WebSocket, data: string) => ws.send(JSON.stringify({ type: 'input', data }));

describe('terminal tabs over the API', () => {
  it('runs a shell in the workspace, contained, that outlives its viewer and replays its scrollback', async () => {
    const tab = await openTab('term1', 'shell');
    const a = await connect('term1', tab.id);
    type(a.ws, `echo "marker-$((6*7))"; pwd; test -s ${t.config.store.path} && echo db-visible || echo db-hidden; echo "secret=$TERM_TEST_SECRET."\r`);
    await until(() => a.text.includes('marker-42'), 'the echo');
    await until(() => a.text.includes('secret=.'), 'the environment');
    expect(a.text).toContain('db-hidden');
    expect(a.text).toMatch(/http_boss_term1/);
    a.ws.send(JSON.stringify({ type: 'resize', cols: 77, rows: 21 }));
    type(a.ws, 'stty size\r');
    await until(() => a.text.includes('21 77'), 'stty size');
    a.ws.close();
    await new Promise((r) => setTimeout(r, 100));
    expect(t.gateway.terminals!.list('http:boss:term1')[0]!.viewers).toBe(0);
    const b = await connect('term1', tab.id);
    // Listed with the conversation's sessions.
    fake.script.push({ text: 'ok' });
    await post('/v1/conversations/term1/messages?stream=false', { text: 'hi' });
    const detail = await (await fetch(`${url}/v1/conversations/term1`, { headers: as(ADMIN_KEY) })).json();
    expect(detail.terminals).toEqual([expect.objectContaining({ id: tab.id, kind: 'shell', owner: 'boss', viewers: 1 })]);
    await until(() => b.text.includes('marker-42'), 'the replayed scrollback');
    type(b.ws, 'echo again-$((7*7))\r');
    await until(() => b.text.includes('again-49'), 'new output after reattaching');
    b.ws.close();
  });

  it('refuses a user key a shell tab (403), a socket without a valid ticket (401) or from another Origin (403)', async () => {
    const res = await post('/v1/conversations/mine/terminals', { kind: 'shell' }, KEY);
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toContain('terminal.shell = "admins"');
    const tab = await openTab('term2', 'shell');
    const status = (u: string, origin?: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(u, origin ? { origin } : {});
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => {});
    });
    const base = url.replace('http', 'ws');
    expect(await status(`${base}/v1/terminals/${tab.id}/socket?ticket=forged`)).toBe(401);
    const { url: ticketPath } = await (await post(`/v1/conversations/term2/terminals/${tab.id}/ticket`, {})).json();
    expect(await status(base + ticketPath, 'https://evil.example')).toBe(403);
    // The refused attempt did not spend the ticket's tab, and a ticket is single use.
    expect(await status(base + ticketPath, url)).toBe(101);
    expect(await status(base + ticketPath, url)).toBe(401);
    // Another user cannot even see the admin's conversation's tabs.
    expect((await fetch(`${url}/v1/conversations/http:boss:term2/terminals`, { headers: as(KEY) })).status).toBe(404);
  });

  it('closing a tab kills its processes, background jobs included', async () => {
    const tab = await openTab('term3', 'shell');
    const a = await connect('term3', tab.id);
    type(a.ws, 'sleep 1234 & echo "bg-$!"\r');
    await until(() => /bg-\d+/.test(a.text), 'the background job');
    const closed = new Promise((resolve) => a.ws.once('close', resolve));
    expect((await fetch(`${url}/v1/conversations/term3/terminals/${tab.id}`, { method: 'DELETE', headers: as(ADMIN_KEY) })).status).toBe(204);
    await closed;
    await new Promise((r) => setTimeout(r, 200));
    const sleeping = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('sleep\u00001234');
      } catch {
        return false;
      }
    });
    expect(sleeping).toEqual([]);
  });
});

/** A socket through a share link, as its holder (no API key). */
async function connectShared(token: string, tabId: string, name: string) {
  const res = await fetch(`${url}/share/terminals/${tabId}/ticket`, { method: 'POST', headers: { 'x-share-token': token, 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  expect(res.status).toBe(200);
  const { url: socketPath, mode } = await res.json();
  const ws = new WebSocket(url.replace('http', 'ws') + socketPath, { origin: url });
  const socket = { ws, mode, text: '', controls: [] as any[], closed: undefined as number | undefined };
  ws.on('message', (data, binary) => {
    if (binary) socket.text += data.toString();
    else socket.controls.push(JSON.parse(data.toString()));
  });
  ws.on('close', (code) => (socket.closed = code));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return socket;
}

const names = (s: { controls: any[] }) => (s.controls.filter((c) => c.type === 'participants').at(-1)?.participants ?? []).map((p: any) => `${p.name}:${p.mode}`).sort();

describe('sharing a tab by link', () => {
  it('a view-only link sees the same output, shows in the participant list, cannot type, and is closed when revoked', async () => {
    const tab = await openTab('shared1', 'shell');
    const owner = await connect('shared1', tab.id, ADMIN_KEY, url);
    const res = await post('/v1/conversations/shared1/shares', { tab: tab.id, mode: 'view', expires_in_s: 600 });
    expect(res.status).toBe(201);
    const share = await res.json();
    expect(share.link).toBe(`/#share=${share.token}`);
    // Only the hash is stored.
    expect(JSON.stringify(t.gateway.store.db.raw.prepare('select * from terminal_shares').all())).not.toContain(share.token);
    const guest = await connectShared(share.token, tab.id, 'Ann');
    expect(guest.mode).toBe('view');
    await until(() => names(owner).length === 2 && names(guest).length === 2, 'both in both lists');
    expect(names(owner)).toEqual(['Ann (link):view', 'boss:write']);
    type(owner.ws, 'echo shared-$((3*3))\r');
    await until(() => guest.text.includes('shared-9'), 'the output at the guest');
    // The owner shows as typing now, then no longer.
    const typing = () => guest.controls.filter((c) => c.type === 'participants').at(-1)?.participants.find((p: any) => p.name === 'boss')?.typing;
    expect(guest.controls.some((c) => c.type === 'participants' && c.participants.some((p: any) => p.name === 'boss' && p.typing))).toBe(true);
    await until(() => typing() === false, 'the typing mark going away', 5000);
    type(guest.ws, 'echo typed-by-guest\r');
    await new Promise((r) => setTimeout(r, 300));
    expect(owner.text).not.toContain('typed-by-guest');
    expect((await fetch(`${url}/v1/conversations/shared1/shares/${share.id}`, { method: 'DELETE', headers: as(ADMIN_KEY) })).status).toBe(204);
    await until(() => guest.closed !== undefined, 'the guest\'s socket closing');
    expect(guest.closed).toBe(4003);
    await until(() => names(owner).length === 1, 'the list without the guest');
    expect((await fetch(`${url}/share/terminals`, { headers: { 'x-share-token': share.token } })).status).toBe(401);
    owner.ws.close();
  });

  it('never grants more than its creator has, and the owner removes a participant', async () => {
    // The admin opens a shell in user web's conversation; web's read-write link gives only a view of it.
    fake.script.push({ text: 'ok' });
    expect((await post('/v1/conversations/shared2/messages?stream=false', { text: 'hi' }, KEY)).status).toBe(200);
    const tab = await openTab('http:web:shared2', 'shell');
    const share = await (await post('/v1/conversations/shared2/shares', { mode: 'write', expires_in_s: 600 }, KEY)).json();
    const listed = await (await fetch(`${url}/share/terminals`, { headers: { 'x-share-token': share.token } })).json();
    expect(listed.data.map((t: { id: string }) => t.id)).toEqual([tab.id]);
    const guest = await connectShared(share.token, tab.id, 'Bo');
    expect(guest.mode).toBe('view');
    const viewer = guest.controls.find((c) => c.type === 'hello').you.id;
    // Only the tab's owner (or an admin) removes someone.
    const remove = (key: string) => fetch(`${url}/v1/conversations/http:web:shared2/terminals/${tab.id}/participants/${viewer}`, { method: 'DELETE', headers: as(key) });
    expect((await remove(KEY)).status).toBe(403);
    expect((await remove(ADMIN_KEY)).status).toBe(204);
    await until(() => guest.closed !== undefined, 'the removed guest\'s socket closing');
  });
});

describe('cligate share', () => {
  it('makes a read-write link from the machine\'s shell, and --revoke closes its sockets within seconds', async () => {
    const tab = await openTab('clishare', 'shell');
    const lines: string[] = [];
    expect(runShare(t.config, { conversation: 'http:boss:clishare', write: true, expires: '600' }, (l) => lines.push(l))).toBe(0);
    const token = /#share=(cgs_[\w-]+)/.exec(lines.join('\n'))![1]!;
    const id = /Share (\d+)/.exec(lines.join('\n'))![1]!;
    const guest = await connectShared(token, tab.id, 'Cy');
    expect(guest.mode).toBe('write');
    type(guest.ws, 'echo "cli-$((5*5))"\r');
    await until(() => guest.text.includes('cli-25'), 'the guest\'s own typing echoed');
    expect(runShare(t.config, { revoke: id }, () => {})).toBe(0);
    await until(() => guest.closed !== undefined, 'the socket closing after --revoke', 5000);
  });
});

describe('limits', () => {
  it('caps the tabs per user (429) and closes a tab left without viewer or output (terminal.idle_timeout_s)', async () => {
    const small = await startTestGateway(fake, {
      config: { http: { enabled: true, port: 0, api_keys: [{ user: 'boss', sha256: sha256(ADMIN_KEY), admin: true }] }, terminal: { max_per_user: 1, idle_timeout_s: 1 } },
      adapters: (config) => [new HttpAdapter({ http: config.http })],
    });
    try {
      const open = () => fetch(`${small.gateway.httpUrl}/v1/conversations/limits/terminals`, { method: 'POST', headers: as(ADMIN_KEY), body: JSON.stringify({ kind: 'shell' }) });
      const first = await open();
      expect(first.status).toBe(201);
      const second = await open();
      expect(second.status).toBe(429);
      expect((await second.json()).error.message).toContain('terminal.max_per_user');
      await until(() => small.gateway.terminals!.list('http:boss:limits').length === 0, 'the idle tab closing', 6000);
      expect((await open()).status).toBe(201);
    } finally {
      await small.stop();
    }
  });
});

/** A page whose Content-Security-Policy violations and script errors are collected. */
async function watchedPage(options: Parameters<Browser['newPage']>[0] = {}): Promise<{ page: Page; violations: string[] }> {
  browser ??= await chromium.launch({
    executablePath: requireTool('chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage(options);
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => (window as any).reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
  return { page, violations };
}

/** The text on the active tab's screen (xterm's DOM renderer). */
const screenText = (page: Page) => page.locator('.term-screen:not([hidden]) .xterm-rows').innerText();

async function openConversation(page: Page, key: string, name: string): Promise<void> {
  await page.goto(`${url}/#key=${key}`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click(`#conversations li[data-id="${name}"]`);
  await page.click('#term-toggle');
}

describe('the Terminal panel in the web app', () => {
  const id = 'http:boss:webterm';
  beforeAll(async () => {
    // A conversation to open in the list: one answered message.
    fake.script.push({ text: 'ready' });
    const res = await post('/v1/conversations/webterm/messages?stream=false', { text: 'hello' });
    expect(res.status).toBe(200);
  });

  it('opens a shell tab, types into it, follows the element\'s size, and survives closing the page', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 1100, height: 760 } });
    await openConversation(page, ADMIN_KEY, id);
    await page.click('#terminal button[data-kind="shell"]');
    await page.waitForSelector('.term-screen:not([hidden]) .xterm-rows');
    await page.locator('.term-screen:not([hidden]) .xterm').click();
    await page.keyboard.type('echo "web-$((40+2))-ok"\n');
    await expect.poll(() => screenText(page), { timeout: 10_000 }).toContain('web-42-ok');
    await page.keyboard.type('stty size\n');
    const size = async () => /(\d+) (\d+)\s*$/m.exec((await screenText(page)).replace(/\u00a0/g, ' ').split('stty size').at(-1)!.split('\n').slice(0, 2).join('\n'))?.slice(1).join(' ');
    await expect.poll(size, { timeout: 10_000 }).toMatch(/^\d+ \d+$/);
    const before = await size();
    await page.setViewportSize({ width: 800, height: 760 });
    await page.waitForTimeout(300);
    await page.keyboard.type('clear; stty size\n');
    // (While `clear` runs the screen shows no size at all: wait for the new one, not just for a change.)
    let after = '';
    const newSize = async () => {
      const now = await size();
      return (after = now && now !== before ? now : 'not yet');
    };
    await expect.poll(newSize, { timeout: 10_000 }).toMatch(/^\d+ \d+$/);
    const tab = t.gateway.terminals!.list(id)[0]!;
    const [rows, cols] = after.split(' ').map(Number);
    expect({ rows, cols }).toEqual({ rows: tab.rows, cols: tab.cols });
    // Ctrl-C stops a running command.
    await page.keyboard.type('sleep 30; echo not-interrupted\n');
    await page.waitForTimeout(300);
    await page.keyboard.press('Control+C');
    await page.keyboard.type('echo after-ctrl-c\n');
    await expect.poll(() => screenText(page), { timeout: 10_000 }).toContain('after-ctrl-c');
    expect(await screenText(page)).not.toContain('not-interrupted');
    if (process.env.TERMINAL_SCREENSHOT) await page.screenshot({ path: process.env.TERMINAL_SCREENSHOT });
    await page.close();
    expect(violations).toEqual([]);

    // The tab kept running without its page; a new page shows its scrollback, then live output.
    const again = await watchedPage({ viewport: { width: 800, height: 760 } });
    await openConversation(again.page, ADMIN_KEY, id);
    await again.page.waitForSelector('.term-screen:not([hidden]) .xterm-rows');
    await expect.poll(() => screenText(again.page), { timeout: 10_000 }).toContain('after-ctrl-c');
    await again.page.locator('.term-screen:not([hidden]) .xterm').click();
    await again.page.keyboard.type('echo "back-$((50+5))"\n');
    await expect.poll(() => screenText(again.page), { timeout: 10_000 }).toContain('back-55');
    expect(again.violations).toEqual([]);
    await again.page.close();
  });
});

describe('sharing in the web app', () => {
  it('a read-only link opens in another browser context: same output, each in the other\'s list, no typing, closed on revoke', async () => {
    fake.script.push({ text: 'ok' });
    expect((await post('/v1/conversations/sharedweb/messages?stream=false', { text: 'hi' })).status).toBe(200);
    const owner = await watchedPage({ viewport: { width: 1100, height: 760 } });
    await openConversation(owner.page, ADMIN_KEY, 'http:boss:sharedweb');
    await owner.page.click('#terminal button[data-kind="shell"]');
    await owner.page.waitForSelector('.term-screen:not([hidden]) .xterm-rows');
    await owner.page.selectOption('#term-share-mode', 'view');
    await owner.page.click('#term-share');
    const link = await owner.page.inputValue('#term-share-link');
    expect(link).toMatch(/#share=cgs_/);

    const context = await browser!.newContext({ viewport: { width: 900, height: 700 } });
    const guest = await context.newPage();
    const guestErrors: string[] = [];
    guest.on('pageerror', (err) => guestErrors.push(err.message));
    await guest.goto(link);
    await guest.fill('#share-name', 'Ann');
    await guest.click('#share-join button[type="submit"]');
    await guest.waitForSelector('.term-screen:not([hidden]) .xterm-rows');
    await expect.poll(() => owner.page.textContent('#term-who')).toContain('Ann (link) (view)');
    await expect.poll(() => guest.textContent('#share-who')).toContain('boss');

    await owner.page.locator('.term-screen:not([hidden]) .xterm').click();
    await owner.page.keyboard.type('echo "both-$((8*8))"\n');
    await expect.poll(() => screenText(guest), { timeout: 10_000 }).toContain('both-64');
    await guest.locator('.term-screen:not([hidden]) .xterm').click();
    await guest.keyboard.type('echo guest-typed\n');
    await owner.page.waitForTimeout(400);
    expect(await screenText(owner.page)).not.toContain('guest-typed');

    await owner.page.click('#term-share-revoke');
    await expect.poll(() => screenText(guest), { timeout: 10_000 }).toContain('removed from this tab');
    await expect.poll(() => owner.page.textContent('#term-who')).not.toContain('Ann');
    expect(guestErrors).toEqual([]);
    expect(owner.violations).toEqual([]);
    await context.close();
    await owner.page.close();
  });
});

describe('a Claude tab on the conversation\'s session', () => {
  const id = 'http:boss:claudetab';

  it('answers a prompt from the stand-in on screen; meanwhile chat messages wait until the tab is closed, and the session stays valid', async () => {
    fake.script.push({ text: 'first answer' });
    const first = await (await post('/v1/conversations/claudetab/messages?stream=false', { text: 'hello' })).json();
    expect(first.status).toBe('done');
    const { page, violations } = await watchedPage({ viewport: { width: 1200, height: 800 } });
    await openConversation(page, ADMIN_KEY, id);
    await page.click('#terminal button[data-kind="claude"]');
    await page.waitForSelector('.term-screen:not([hidden]) .xterm-rows');
    // The TUI's prompt box, with no first-start screens before it.
    await expect.poll(() => screenText(page), { timeout: 20_000 }).toMatch(/❯|>/);
    await page.waitForTimeout(500);
    await page.locator('.term-screen:not([hidden]) .xterm').click();
    await page.keyboard.type('[[reply: tui-answer-77]]');
    await page.keyboard.press('Enter');
    // The answer under the echoed prompt (marked ● by the TUI).
    await expect.poll(() => screenText(page), { timeout: 20_000 }).toMatch(/●\s*tui-answer-77/);
    if (process.env.CLAUDE_SCREENSHOT) await page.screenshot({ path: process.env.CLAUDE_SCREENSHOT });

    // A chat message now waits, and says why.
    const events: SseEvent[] = [];
    const sent = fetch(`${url}/v1/conversations/claudetab/messages`, { method: 'POST', headers: as(ADMIN_KEY), body: JSON.stringify({ text: '[[reply: after the tab]]' }) })
      .then((res) => readSse(res, (e) => events.push(e), (e) => e.event === 'done'));
    await until(() => events.some((e) => e.event === 'status' && (e.data as { text: string }).text.includes('holds this conversation\'s session')), 'the waiting notice');
    await page.waitForTimeout(500);
    expect(events.some((e) => e.event === 'done' || e.event === 'started')).toBe(false);
    // A second Claude tab on the same session is refused.
    expect((await post('/v1/conversations/claudetab/terminals', { kind: 'claude' })).status).toBe(409);

    await page.click('#term-close-tab');
    await sent;
    const done = events.find((e) => e.event === 'done')!.data;
    expect(done).toMatchObject({ status: 'done', text: 'after the tab' });
    // Every line of the session's transcript is still JSON: no two writers interleaved.
    const home = path.join(t.config.gateway.data_dir, 'cli-homes', 'claude');
    const files = fs.readdirSync(home, { recursive: true, withFileTypes: true }).filter((f) => f.isFile() && f.name.endsWith('.jsonl')).map((f) => path.join(f.parentPath, f.name));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) JSON.parse(line);
    // One session, written in turn: the chat's turn, the tab's, then the chat's that waited for the tab.
    expect(done.session_id).toBe(first.session_id);
    const session = fs.readFileSync(files.find((f) => path.basename(f) === `${first.session_id}.jsonl`)!, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const said = session.filter((e) => (e.type === 'user' || e.type === 'assistant') && e.message).map((e) => {
      const c = e.message.content;
      return `${e.type}: ${typeof c === 'string' ? c : c.find((b: { type: string }) => b.type === 'text')?.text ?? ''}`;
    });
    expect(said).toEqual(['user: hello', 'assistant: first answer', 'user: [[reply: tui-answer-77]]', 'assistant: tui-answer-77', 'user: [[reply: after the tab]]', 'assistant: after the tab']);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('closes, saying why on screen, when the chat moves to another session (/new); the chat\'s next message then runs at once', async () => {
    fake.script.push({ text: 'before the tab' });
    expect((await (await post('/v1/conversations/newsession/messages?stream=false', { text: 'hello' })).json()).status).toBe('done');
    const { page, violations } = await watchedPage({ viewport: { width: 1200, height: 800 } });
    await openConversation(page, ADMIN_KEY, 'http:boss:newsession');
    await page.click('#terminal button[data-kind="claude"]');
    await expect.poll(() => screenText(page), { timeout: 20_000 }).toMatch(/❯|>/);
    const moved = await (await post('/v1/conversations/newsession/messages?stream=false', { text: '/new' })).json();
    expect(moved.text).toMatch(/^Started a new session/);
    // What the person sees in the tab: the reason, below what the CLI had drawn.
    await expect.poll(() => screenText(page), { timeout: 10_000 }).toMatch(/\[The conversation moved to another session \(\/new, \/session, \/engine or \/forget\): open a new tab\.\]/);
    await expect.poll(() => page.locator('#term-tabs button.selected').innerText()).toBe('Claude 1 (ended)');
    if (process.env.SESSION_LEFT_SCREENSHOT) await page.screenshot({ path: process.env.SESSION_LEFT_SCREENSHOT });
    const next = await (await post('/v1/conversations/newsession/messages?stream=false', { text: '[[reply: no wait]]' })).json();
    expect(next).toMatchObject({ status: 'done', text: 'no wait' });
    expect(violations).toEqual([]);
    await page.close();
  });
});
