/**
 * The web app's Files: a conversation's workspace through the API (list, preview, download, upload,
 * paths that would leave the workspace, who may read and who may write) and in the web chat in a real
 * headless Chromium (browse the tree, open a file, upload, download, and the diff of what an answer
 * changed), with the real `claude` CLI running the tool that changes a file. One gateway for the file.
 * Set FILES_SCREENSHOT=<file.png> to save the Files panel at phone width, DIFF_SCREENSHOT=<file.png> an
 * answer's changes opened (desktop).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { workspacePath } from '../src/workspace.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { launchChromium, watchedPage as watchedPageOf } from './support/browser.js';

const fake = new AnthropicFake();
const KEY = 'cg_files_test_key_web_0123456789';
const BOB_KEY = 'cg_files_test_key_bob_0123456789';
const ADMIN_KEY = 'cg_files_test_key_admin_0123456789';
// A 2x2 red PNG.
const RED_DOT = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mP4z8AARAwQCgAf7gP9Y167WwAAAABJRU5ErkJggg==', 'base64');
let t: TestGateway;
let url: string;
let browser: Browser | undefined;

beforeAll(async () => {
  await fake.start();
  t = await startTestGateway(fake, {
    config: {
      http: {
        enabled: true, port: 0, max_file_mb: 1,
        api_keys: [{ user: 'web', sha256: sha256(KEY) }, { user: 'bob', sha256: sha256(BOB_KEY) }, { user: 'boss', sha256: sha256(ADMIN_KEY), admin: true }],
      },
      // The tool that changes a file runs without a card to click.
      engine: { claude: { permission_mode: 'bypassPermissions' } },
    },
    adapters: (config) => [new HttpAdapter({ http: config.http })],
  });
  url = t.gateway.httpUrl!;
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await fake.stop();
});

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const get = (p: string, key = KEY) => fetch(url + p, { headers: as(key) });
const upload = (p: string, body: BodyInit, key = KEY) => fetch(url + p, { method: 'POST', headers: as(key), body });

/** Fills a conversation's workspace: a folder, text, an image, a big file, a link out of it. */
function seed(conversationId: string): string {
  const root = workspacePath(t.config.workspace.root, conversationId);
  fs.mkdirSync(path.join(root, 'src'), { recursive: true });
  fs.writeFileSync(path.join(root, 'notes.md'), 'original\n');
  fs.writeFileSync(path.join(root, 'src', 'app.ts'), 'export const answer: number = 42;\n');
  fs.writeFileSync(path.join(root, 'pic.png'), RED_DOT);
  fs.writeFileSync(path.join(root, 'big.txt'), 'x'.repeat(300 * 1024));
  fs.symlinkSync('/etc', path.join(root, 'link-out'));
  return root;
}

/** Sends a message and waits for its answer. */
async function say(name: string, text: string): Promise<{ message_id: number; text: string }> {
  const res = await fetch(`${url}/v1/conversations/${name}/messages?stream=false`, { method: 'POST', headers: { ...as(KEY), 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  expect(res.status).toBe(200);
  return res.json();
}

const CHANGE = "[[tool Bash: echo changed > notes.md && echo hi > made.txt]]";

describe('files over HTTP', () => {
  const id = 'http:web:files';
  let root: string;
  beforeAll(() => {
    root = seed(id);
  });

  it('records what an answer changed, with unified diffs', async () => {
    const answer = await say('files', CHANGE);
    expect(answer.text).toMatch(/tool said/);
    const res = await get(`/v1/conversations/files/messages/${answer.message_id}/changes`);
    expect(res.status).toBe(200);
    const { data } = await res.json();
    expect(data).toEqual([
      { path: 'made.txt', change: 'added', diff: '--- /dev/null\n+++ b/made.txt\n@@ -0,0 +1,1 @@\n+hi\n' },
      { path: 'notes.md', change: 'modified', diff: '--- a/notes.md\n+++ b/notes.md\n@@ -1,1 +1,1 @@\n-original\n+changed\n' },
    ]);
    const summary = await (await get('/v1/conversations/files/changes')).json();
    expect(summary.data).toEqual([{ message_id: answer.message_id, path: 'made.txt', change: 'added' }, { message_id: answer.message_id, path: 'notes.md', change: 'modified' }]);
  });

  it('lists one folder at a time, folders first; a link out of the workspace shows as a link', async () => {
    const top = await (await get('/v1/conversations/files/files')).json();
    expect(top.path).toBe('');
    expect(top.truncated).toBe(false);
    expect(top.entries.map((e: any) => [e.name, e.type])).toEqual([
      ['src', 'dir'], ['big.txt', 'file'], ['link-out', 'link'], ['made.txt', 'file'], ['notes.md', 'file'], ['pic.png', 'file'],
    ]);
    expect(top.entries.find((e: any) => e.name === 'notes.md')).toMatchObject({ path: 'notes.md', size: 8 });
    const src = await (await get('/v1/conversations/files/files?path=src')).json();
    expect(src.entries).toEqual([{ name: 'app.ts', path: 'src/app.ts', type: 'file', size: 34, mtime: expect.any(Number) }]);
    // A crowded folder: the first 1000, and how many there are.
    const crowded = path.join(root, 'tmp', 'crowd');
    fs.mkdirSync(crowded, { recursive: true });
    for (let i = 0; i < 1005; i++) fs.writeFileSync(path.join(crowded, `f${String(i).padStart(4, '0')}`), '');
    const many = await (await get('/v1/conversations/files/files?path=tmp/crowd')).json();
    expect([many.entries.length, many.entries[0].name, many.truncated, many.total]).toEqual([1000, 'f0000', true, 1005]);
    fs.rmSync(path.join(root, 'tmp'), { recursive: true });
  });

  it('previews text, cuts a large file at 256 KB, flags images; downloads with a safe attachment header', async () => {
    expect(await (await get('/v1/conversations/files/files/content?path=src/app.ts')).json()).toMatchObject({ path: 'src/app.ts', size: 34, binary: false, truncated: false, text: 'export const answer: number = 42;\n' });
    const big = await (await get('/v1/conversations/files/files/content?path=big.txt')).json();
    expect([big.truncated, big.size, big.text.length]).toEqual([true, 300 * 1024, 256 * 1024]);
    const pic = await (await get('/v1/conversations/files/files/content?path=pic.png')).json();
    expect(pic).toMatchObject({ binary: true, image: 'image/png' });
    expect(pic.text).toBeUndefined();

    const raw = await get('/v1/conversations/files/files/raw?path=pic.png&download=1');
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toBe('image/png');
    expect(raw.headers.get('content-disposition')).toBe(`attachment; filename="pic.png"; filename*=UTF-8''pic.png`);
    expect(Buffer.from(await raw.arrayBuffer())).toEqual(RED_DOT);
    fs.writeFileSync(path.join(root, 'src', 'é "q".html'), '<script>alert(1)</script>');
    const page = await get(`/v1/conversations/files/files/raw?path=${encodeURIComponent('src/é "q".html')}`);
    // Never served as a page of this origin.
    expect(page.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(page.headers.get('content-disposition')).toBe(`inline; filename="_ _q_.html"; filename*=UTF-8''%C3%A9%20%22q%22.html`);
  });

  it('uploads into a folder, never over a file; over http.max_file_mb is 413; bad names are 400', async () => {
    let res = await upload('/v1/conversations/files/files?path=src&name=up.txt', 'one');
    expect([res.status, await res.json()]).toEqual([201, { path: 'src/up.txt', name: 'up.txt', size: 3 }]);
    res = await upload('/v1/conversations/files/files?path=src&name=up.txt', 'two');
    expect((await res.json()).path).toBe('src/up-2.txt');
    expect(fs.readFileSync(path.join(root, 'src', 'up.txt'), 'utf8')).toBe('one');
    res = await upload('/v1/conversations/files/files?name=huge.bin', new Uint8Array(1024 * 1024 + 1));
    expect(res.status).toBe(413);
    expect((await res.json()).error.message).toBe('The file is over 1 MB, the largest upload (http.max_file_mb in the config).');
    expect(fs.existsSync(path.join(root, 'huge.bin'))).toBe(false);
    for (const [query, message] of [
      ['name=a/b.txt', /give the folder in \?path=/],
      ['name=..', /not a file name/],
      ['', /Name the file/],
      ['path=notes.md&name=x.txt', /is a file, not a folder/],
    ] as const) {
      res = await upload(`/v1/conversations/files/files?${query}`, 'x');
      expect(res.status).toBe(400);
      expect((await res.json()).error.message).toMatch(message);
    }
    // A web conversation of one's own may be used before its first message.
    res = await upload('/v1/conversations/fresh/files?name=first.txt', 'hello');
    expect(res.status).toBe(201);
    expect(fs.readFileSync(path.join(workspacePath(t.config.workspace.root, 'http:web:fresh'), 'first.txt'), 'utf8')).toBe('hello');
  });

  it('refuses paths that leave the workspace: "..", absolute, and through a link (400)', async () => {
    for (const p of ['../x', 'src/../../x', '/etc/passwd', 'link-out', 'link-out/passwd']) {
      for (const route of ['files', 'files/content', 'files/raw']) {
        const res = await get(`/v1/conversations/files/${route}?path=${encodeURIComponent(p)}`);
        expect({ p, route, status: res.status }).toEqual({ p, route, status: 400 });
      }
      expect((await upload(`/v1/conversations/files/files?path=${encodeURIComponent(p)}&name=x.txt`, 'x')).status).toBe(400);
    }
    expect((await get('/v1/conversations/files/files/content?path=nothing.txt')).status).toBe(404);
  });

  it('another user gets 404 as for a missing conversation; an admin reads but may not upload (403)', async () => {
    const missing = await (await get('/v1/conversations/http:web:nothing-here/files', BOB_KEY)).json();
    for (const route of ['files', 'files/content?path=notes.md', 'files/raw?path=notes.md', 'changes', 'messages/1/changes']) {
      const res = await get(`/v1/conversations/${id}/${route}`, BOB_KEY);
      expect({ route, status: res.status }).toEqual({ route, status: 404 });
      expect((await res.json()).error.code).toBe(missing.error.code);
    }
    expect((await upload(`/v1/conversations/${id}/files?name=x.txt`, 'x', BOB_KEY)).status).toBe(404);

    expect((await get(`/v1/conversations/${id}/files/content?path=notes.md`, ADMIN_KEY)).status).toBe(200);
    const res = await upload(`/v1/conversations/${id}/files?name=x.txt`, 'x', ADMIN_KEY);
    expect(res.status).toBe(403);
    expect((await res.json()).error.message).toBe('http:web:files is read-only for you: only its owner can upload into its workspace (yours are your own web conversations, http:boss:<name>).');
  });
});

/** A page whose Content-Security-Policy violations and script errors are collected. */
async function watchedPage(options: Parameters<Browser['newPage']>[0] = {}): Promise<{ page: Page; violations: string[] }> {
  browser ??= await launchChromium();
  return watchedPageOf(browser, options);
}

describe('files in the web chat', () => {
  let id: string;

  it('shows under an answer the files its tool changed, collapsed; opened, each unified diff highlighted', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 1100, height: 760 } });
    await page.goto(`${url}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
    await page.click('#new-chat');
    await page.waitForFunction(() => document.querySelector('#title')?.textContent?.startsWith('http:web:chat-'));
    id = (await page.textContent('#title'))!.split(' ')[0]!;
    seed(id);
    await page.fill('#input', CHANGE);
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.assistant:not(.live) details.changes:not([open]) summary:text("2 files changed")');
    expect(await page.isVisible('.msg.assistant .changes pre')).toBe(false);
    await page.click('.msg.assistant details.changes summary');
    await page.waitForSelector('.msg.assistant .changes pre code.language-diff .hljs-addition');
    expect(await page.locator('.changes .change-head').allTextContents()).toEqual(['addedmade.txt', 'modifiednotes.md']);
    expect(await page.locator('.changes .hljs-deletion').allTextContents()).toEqual(['-original']);
    expect(await page.locator('.changes .hljs-addition').allTextContents()).toEqual(['+hi', '+changed']);
    if (process.env.DIFF_SCREENSHOT) await page.screenshot({ path: process.env.DIFF_SCREENSHOT });
    // A changed file's name opens it in the Files panel.
    await page.click('.changes .change-path:text("notes.md")');
    await page.waitForSelector('#files-preview:has-text("changed")');
    expect(await page.textContent('#files-preview .path')).toBe('notes.md');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('browses the tree, opens text and images, downloads, uploads into a folder (390 px wide, dark)', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    await page.goto(`${url}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
    await page.click(`#conversations li[data-id="${id}"]`);
    await page.waitForSelector('.msg.assistant .changes');
    await page.click('#files-toggle');
    await page.waitForSelector('#files-tree .files-entry[data-path="pic.png"]');
    expect(await page.locator('#files-tree > .files-entry').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.path)))
      .toEqual(['src', 'big.txt', 'link-out', 'made.txt', 'notes.md', 'pic.png']);
    expect(await page.isDisabled('.files-entry[data-path="link-out"] > .files-row')).toBe(true);

    // A folder opens when clicked, loading its entries then.
    expect(await page.locator('.files-entry[data-path="src/app.ts"]').count()).toBe(0);
    await page.click('.files-entry[data-path="src"] > .files-row');
    await page.click('.files-entry[data-path="src/app.ts"] > .files-row');
    await page.waitForSelector('#files-preview code.language-ts .hljs-keyword');
    expect(await page.textContent('#files-preview code')).toBe('export const answer: number = 42;\n');

    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#files-preview .files-download')]);
    expect(download.suggestedFilename()).toBe('app.ts');
    expect(fs.readFileSync((await download.path())!, 'utf8')).toBe('export const answer: number = 42;\n');

    await page.click('.files-entry[data-path="pic.png"] > .files-row');
    await page.waitForFunction(() => (document.querySelector('#files-preview img') as HTMLImageElement | null)?.complete);
    expect(await page.$eval('#files-preview img', (img) => (img as HTMLImageElement).naturalWidth)).toBe(2);

    await page.click('.files-entry[data-path="big.txt"] > .files-row');
    await page.waitForSelector('#files-preview .files-cut');
    expect(await page.textContent('#files-preview .files-cut')).toBe('Showing the first 256 KB of 300 KB: download it for the whole file.');

    // Into the folder last opened: src.
    await page.setInputFiles('#files-input', { name: 'hello.txt', mimeType: 'text/plain', buffer: Buffer.from('hello from the browser\n') });
    await page.waitForSelector('.files-entry[data-path="src/hello.txt"]');
    expect(fs.readFileSync(path.join(workspacePath(t.config.workspace.root, id), 'src', 'hello.txt'), 'utf8')).toBe('hello from the browser\n');

    // Usable on a phone: the panel takes the width, nothing scrolls sideways; dark as the system is.
    await page.click('.files-entry[data-path="src/app.ts"] > .files-row');
    await page.waitForSelector('#files-preview code.language-ts');
    expect(await page.evaluate(() => ({
      panel: [Math.round(document.querySelector('#files')!.getBoundingClientRect().width), Math.round(document.querySelector('#files')!.getBoundingClientRect().height)],
      wide: document.documentElement.scrollWidth > window.innerWidth,
      background: getComputedStyle(document.querySelector('#files')!).backgroundColor,
    }))).toEqual({ panel: [390, 844], wide: false, background: 'rgb(31, 31, 33)' });
    if (process.env.FILES_SCREENSHOT) await page.screenshot({ path: process.env.FILES_SCREENSHOT });
    await page.click('.files-close');
    expect(await page.isVisible('#files')).toBe(false);
    expect(violations).toEqual([]);
    await page.close();
  });
});
