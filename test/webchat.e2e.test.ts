/**
 * The web chat in a real headless Chromium (Debian's, driven by playwright-core), asserting what a
 * person sees: only the login card before logging in, only the app after, only the card again after
 * logging out; a chat whose answer streams in and renders as Markdown; a transcript of another channel
 * with code and images, followed live. Every page must run without one Content-Security-Policy
 * violation, and a page of another origin must not be able to frame the app (only one named in
 * http.frame_ancestors may). Set SCREENSHOT=<file.png> to save a picture of the page.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { approvalsOf, startTestGateway, withApprovalTimeout, type TestGateway } from './support/gateway.js';
import { TestAdapter } from './support/test-adapter.js';
import { workspacePath } from '../src/workspace.js';
import { launchChromium, watchedPage as watchedPageOf } from './support/browser.js';

const fake = new AnthropicFake();
const KEY = 'cg_webchat_test_key_0123456789';
// A 2x2 red PNG: an image carried inside an answer, which the page draws.
const RED_DOT = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEElEQVR42mP4z8AARAwQCgAf7gP9Y167WwAAAABJRU5ErkJggg==';
let t: TestGateway;
let web: HttpAdapter;
let browser: Browser;
const other = new TestAdapter();
/** Pages that frame the web chat: one from an origin named in http.frame_ancestors, one from any other. */
let framing: { allowed: http.Server; hostile: http.Server };

beforeAll(async () => {
  await fake.start();
  const page = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>framing</title><iframe src="${t.gateway.httpUrl}/" width="800" height="600"></iframe>`);
  };
  framing = { allowed: await listen(http.createServer(page)), hostile: await listen(http.createServer(page)) };
  t = await startTestGateway(fake, {
    config: {
      http: { enabled: true, port: 0, api_keys: [{ user: 'web', sha256: sha256(KEY), admin: true }], frame_ancestors: [originOf(framing.allowed)] },
      engine: { claude: { allowed_tools: ['Bash(echo timeline-check)'] } },
    },
    adapters: (config) => [(web = new HttpAdapter({ http: config.http })), other],
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  for (const server of Object.values(framing ?? {})) server.close();
  await fake.stop();
});

function listen(server: http.Server): Promise<http.Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function originOf(server: http.Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function watchedPage(options: Parameters<Browser['newPage']>[0] = {}): Promise<{ page: Page; violations: string[] }> {
  return watchedPageOf(browser, options);
}

/** What a person sees: which of the login card and the app are on screen. */
async function onScreen(page: Page): Promise<{ login: boolean; app: boolean }> {
  return { login: await page.isVisible('#login'), app: await page.isVisible('#app') };
}

/** Logs in with the key, starts a new chat and returns its conversation id. */
async function newChat(page: Page): Promise<string> {
  await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click('#new-chat');
  await page.waitForFunction(() => document.querySelector('#title')?.textContent?.startsWith('http:web:chat-'));
  return (await page.textContent('#title'))!.split(' ')[0]!;
}

async function send(page: Page, text: string): Promise<void> {
  await page.fill('#input', text);
  await page.press('#input', 'Enter');
}

/** Waits until `count` finished answers match `pattern`. */
async function answered(page: Page, pattern: RegExp, count = 1): Promise<void> {
  await page.waitForFunction(([source, n]) => [...document.querySelectorAll('.msg.assistant:not(.live)')].filter((m) => new RegExp(source as string).test(m.textContent ?? '')).length >= (n as number), [pattern.source, count] as const);
}

const WRITE = '[[tool Bash: echo hi > made.txt]]';
const madeIn = (conversationId: string) => path.join(workspacePath(t.config.workspace.root, conversationId), 'made.txt');

describe('web chat', () => {
  it('shows only the login card, then only the app, and the answer streamed and rendered; log out shows only the card', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 1100, height: 640 } });
    await page.goto(t.gateway.httpUrl + '/');
    await page.waitForSelector('#login:visible');
    expect(await onScreen(page)).toEqual({ login: true, app: false });
    await page.fill('#key', 'cg_wrong_key');
    await page.click('#login button');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/refused/);
    expect(await onScreen(page)).toEqual({ login: true, app: false });

    await page.fill('#key', KEY);
    await page.click('#login button');
    await page.waitForSelector('#app:not([hidden])');
    expect(await onScreen(page)).toEqual({ login: false, app: true });
    // The app fills the window from its top: no card above pushing it down.
    expect(await page.evaluate(() => document.querySelector('#app')!.getBoundingClientRect().top + window.scrollY)).toBe(0);
    await page.click('#new-chat');
    await page.waitForFunction(() => document.querySelector('#title')?.textContent?.startsWith('http:web:chat-'));

    const answer = 'Here is **bold** text and code:\n\n```ts\nconst answer: number = 42;\n```';
    fake.respond = (req) => (req.prompt === 'show me' ? { text: answer, chunkSize: 4, delayMs: 25 } : undefined);
    await page.fill('#input', 'show me');
    await page.press('#input', 'Enter');
    // While it streams, a live bubble grows.
    await page.waitForSelector('.msg.live');
    // Then the transcript shows it rendered.
    await page.waitForSelector('.msg.assistant:not(.live) strong');
    expect(await page.textContent('.msg.assistant strong')).toBe('bold');
    expect(await page.textContent('.msg.assistant pre code.language-ts')).toBe('const answer: number = 42;');
    expect(await page.locator('.msg.assistant pre .hljs-keyword').count()).toBeGreaterThan(0);
    expect(await page.textContent('.msg.user')).toBe('show me');
    if (process.env.SCREENSHOT) {
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: process.env.SCREENSHOT });
    }
    fake.respond = undefined;

    await page.click('#logout');
    expect(await onScreen(page)).toEqual({ login: true, app: false });
    expect(await page.locator('#conversations li').count()).toBe(0);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('follows a running answer across a dropped connection: after reconnecting it shows what was said meanwhile, nothing twice', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 1100, height: 640 } });
    await newChat(page);
    const text = 'alpha bravo charlie delta echo foxtrot golf hotel';
    const pieces = text.match(/.{1,6}/g)!; // what each text delta carries
    const release = { middle: () => {}, end: () => {} };
    const middle = new Promise<void>((r) => (release.middle = r));
    const end = new Promise<void>((r) => (release.end = r));
    fake.respond = (req) => (req.prompt === 'spell it out' ? { text, chunkSize: 6, beforeDelta: (i) => (i === 2 ? middle : i === 7 ? end : undefined) } : undefined);
    await send(page, 'spell it out');
    const live = () => page.textContent('.msg.live').then((shown) => shown?.replace(/Stop$/, '').trim());
    await expect.poll(live, { timeout: 30_000 }).toBe('alpha bravo');
    // The connection drops; the answer goes on meanwhile (the page waits a second before reconnecting).
    web.closeStreams();
    release.middle();
    await expect.poll(live, { timeout: 15_000 }).toBe(pieces.slice(0, 7).join('').trim());
    release.end();
    await answered(page, /alpha bravo charlie delta echo foxtrot golf hotel/);
    fake.respond = undefined;
    expect(violations).toEqual([]);
    await page.close();
  });

  it('shows each answer\'s tool calls as a collapsed timeline, finds words in past transcripts, lists and switches sessions (phone width)', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 390, height: 844 } });
    const conversationId = await newChat(page);
    await send(page, '[[tool Bash: echo timeline-check]]');
    await answered(page, /tool said: timeline-check/);
    // Collapsed above the answer; opened, it says what ran, what came back, and how long it took.
    const timeline = page.locator('.msg.assistant:not(.live)').last().locator('xpath=preceding-sibling::details[1]');
    await expect.poll(() => timeline.getAttribute('class')).toBe('activity');
    expect(await timeline.evaluate((d) => (d as HTMLDetailsElement).open)).toBe(false);
    expect(await timeline.locator('summary').textContent()).toMatch(/^1 tool call · \d/);
    await timeline.locator('summary').click();
    expect(await timeline.locator('li strong').textContent()).toBe('Bash');
    expect(await timeline.locator('li .what').textContent()).toBe('running: echo timeline-check');
    expect(await timeline.locator('li .result').textContent()).toBe('timeline-check');
    if (process.env.PHONE_SCREENSHOT) await page.screenshot({ path: process.env.PHONE_SCREENSHOT });

    // Sessions: one so far; "New session" starts the next, and "Use" goes back.
    await page.click('#sessions summary');
    expect(await page.locator('#sessions li.active').textContent()).toMatch(/^▶ #\d+ claude · 1 turn/);
    await page.click('#sessions button:text("New session")');
    await page.waitForSelector('.msg.notice:has-text("Started a new session")');
    await send(page, 'second session');
    await answered(page, /echo: second session/);
    await expect.poll(() => page.locator('#sessions li:has-text("claude ·")').count()).toBe(2);
    await page.locator('#sessions button:text("Use")').click();
    await page.waitForSelector('.msg.notice:has-text("Switched to session")');

    // Search: the conversation list shows the lines with the words, marked; a click opens one.
    await page.fill('#search', 'timeline-check');
    await page.waitForSelector('#conversations.hits li mark');
    expect(await page.locator('#conversations.hits li').first().getAttribute('data-id')).toBe(conversationId);
    await page.fill('#search', '');
    await page.waitForSelector(`#conversations:not(.hits) li[data-id="${conversationId}"]`);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('opens a transcript of another channel with code and images, and follows its next answer live (phone width)', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 390, height: 844 } });
    const drawn = `Some code:\n\n\`\`\`py\nprint("hi")\n\`\`\`\n\nA dot: ![red dot](${RED_DOT})\n\nA picture elsewhere: ![a far picture](https://images.example.com/far.png)`;
    fake.respond = (req) => (req.prompt === 'draw something' ? { text: drawn } : undefined);
    await other.say('elsewhere', 'draw something');
    await expect.poll(() => t.gateway.store.transcript.list('local:elsewhere').length, { timeout: 30_000 }).toBe(2);

    await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
    expect(await onScreen(page)).toEqual({ login: false, app: true });
    await page.click('#conversations li[data-id="local:elsewhere"]');
    // The composer turns read-only once the conversation's transcript has been fetched.
    await page.waitForSelector('#input:disabled');
    expect(await page.locator('.msg.assistant pre .hljs-built_in, .msg.assistant pre .hljs-string').count()).toBeGreaterThan(0);
    // The embedded image is drawn; the one on another host is only a link (loading it would tell that host).
    await page.waitForFunction(() => (document.querySelector('.msg.assistant img') as HTMLImageElement | null)?.complete);
    expect(violations).toEqual([]);
    expect(await page.$eval('.msg.assistant img', (img) => (img as HTMLImageElement).naturalWidth)).toBe(2);
    expect(await page.getAttribute('.msg.assistant img', 'alt')).toBe('red dot');
    expect(await page.getAttribute('.msg.assistant a:text("a far picture")', 'href')).toBe('https://images.example.com/far.png');

    fake.respond = (req) => (req.prompt === 'watch me write' ? { text: 'slowly written answer', chunkSize: 2, delayMs: 60 } : undefined);
    await other.say('elsewhere', 'watch me write');
    await page.waitForSelector('.msg.live');
    await page.waitForFunction(() => /slowly written answer/.test(document.querySelector('#transcript')?.textContent ?? ''));
    fake.respond = undefined;
    expect(violations).toEqual([]);
    await page.close();
  });

  it('shows Claude\'s requests with buttons: Allow once runs the command, a question is answered by a click, a plan approved', async () => {
    const { page, violations } = await watchedPage({ viewport: { width: 1100, height: 700 } });
    const conversationId = await newChat(page);

    await page.fill('#input', '[[tool Bash: echo hi > made.txt]]');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.approval button:text("Allow once")');
    expect(await page.textContent('.msg.approval pre')).toContain('echo hi > made.txt');
    // The running answer's bubble carries a Stop button.
    await page.waitForSelector('.msg.live button.stop');
    if (process.env.APPROVAL_SCREENSHOT) await page.screenshot({ path: process.env.APPROVAL_SCREENSHOT });
    await page.click('.msg.approval button:text("Allow once")');
    await page.waitForFunction(() => /tool said: \(Bash completed with no output\)/.test(document.querySelector('#transcript')?.textContent ?? ''));
    expect(fs.readFileSync(madeIn(conversationId), 'utf8')).toBe('hi\n');
    // What the person sees now: the request, decided, above the answer (its tool calls between them), with nothing left to click
    // on it, and no running bubble or Stop button left behind; both in view.
    // (once the finished answer has replaced the live bubble)
    await page.waitForSelector('.msg.approval:has-text("Allowed once by web") ~ .msg.assistant:not(.live):has-text("tool said")');
    expect(await page.locator('.msg.approval button, .msg.approval input').count()).toBe(0);
    expect(await page.locator('.msg.live, button.stop').count()).toBe(0);
    expect(await page.evaluate(() => [...document.querySelectorAll('.msg.approval, .msg.assistant')].every((el) => {
      const box = el.getBoundingClientRect();
      return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight;
    }))).toBe(true);
    if (process.env.APPROVAL_DECIDED_SCREENSHOT) await page.screenshot({ path: process.env.APPROVAL_DECIDED_SCREENSHOT });

    const question = { questions: [{ question: 'Which database?', header: 'DB', multiSelect: false, options: [{ label: 'SQLite', description: 'a file' }, { label: 'Postgres', description: 'a server' }] }] };
    await page.fill('#input', `[[call AskUserQuestion ${JSON.stringify(question)}]]`);
    await page.press('#input', 'Enter');
    await page.click('.msg.approval button:text("Postgres")');
    await page.waitForFunction(() => /"Which database\?"="Postgres"/.test(document.querySelector('#transcript')?.textContent ?? ''));

    await page.fill('#input', '/mode plan');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => /Mode: plan/.test(document.querySelector('#transcript')?.textContent ?? ''));
    await page.fill('#input', '[[call ExitPlanMode {"plan": "1. Write the test"}]]');
    await page.press('#input', 'Enter');
    await page.waitForSelector('.msg.approval:has-text("Write the test") button:text("Approve plan")');
    await page.click('.msg.approval button:text("Approve plan")');
    await page.waitForFunction(() => /tool said: User has approved your plan/.test(document.querySelector('#transcript')?.textContent ?? ''));
    expect(violations).toEqual([]);
    await page.close();
  });

  it('Deny (double-clicked: decided once): nothing runs, Claude says so; Allow in this conversation: the same call next turn runs without a card', async () => {
    const { page, violations } = await watchedPage();
    const conversationId = await newChat(page);
    await send(page, WRITE);
    await page.dblclick('.msg.approval button:text("Deny")');
    await answered(page, /denied this in the chat/);
    expect(approvalsOf(t, conversationId).map((a) => [a.status, a.decided_by])).toEqual([['denied', 'web']]);
    expect(await page.locator('.msg.approval .error').count()).toBe(0);
    // The decided request stays in view, before the answer (and its tool calls), saying who decided what.
    expect(await page.locator('.msg.approval:has-text("Denied by web") ~ .msg.assistant:has-text("denied this in the chat")').count()).toBe(1);
    expect(fs.existsSync(madeIn(conversationId))).toBe(false);

    await send(page, WRITE);
    await page.click('.msg.approval button:text("Allow in this conversation")');
    await answered(page, /tool said: \(Bash completed/);
    fs.rmSync(madeIn(conversationId));
    await send(page, WRITE);
    await answered(page, /tool said: \(Bash completed/, 2);
    expect(fs.readFileSync(madeIn(conversationId), 'utf8')).toBe('hi\n');
    expect(await page.locator('.msg.approval').count()).toBe(2);
    expect(approvalsOf(t, conversationId).at(-1)!.decided_by).toBe('rule Bash(echo hi > made.txt)');
    expect(violations).toEqual([]);
    await page.close();
  });

  it('a request nobody answers in time: the card and Claude\'s answer say it was denied', async () => {
    const { page, violations } = await watchedPage();
    const conversationId = await newChat(page);
    await withApprovalTimeout(t, 1, async () => {
      await send(page, WRITE);
      await answered(page, /Nobody answered within 1 second\b/);
      await page.waitForSelector('.msg.approval:has-text("Nobody answered within 1 second: denied")');
    });
    expect(await page.locator('.msg.approval button').count()).toBe(0);
    expect(fs.existsSync(madeIn(conversationId))).toBe(false);
    expect(violations).toEqual([]);
    await page.close();
  });

  it('escapes HTML in answers', async () => {
    const { page, violations } = await watchedPage();
    await newChat(page);
    fake.respond = (req) => (req.prompt === 'xss' ? { text: 'look <img src=x onerror="window.pwned=1"> [x](javascript:alert(1))' } : undefined);
    await page.fill('#input', 'xss');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => /look/.test(document.querySelector('.msg.assistant:not(.live)')?.textContent ?? ''));
    expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined();
    expect(await page.locator('.msg.assistant img').count()).toBe(0);
    expect(await page.getAttribute('.msg.assistant a', 'href')).toBe('#');
    fake.respond = undefined;
    expect(violations).toEqual([]);
    await page.close();
  });

  it("lists the conversation's schedules in its header", async () => {
    const { page } = await watchedPage();
    const id = await newChat(page);
    await send(page, '/in 1 hour look at the build');
    await page.waitForFunction(() => [...document.querySelectorAll('.msg')].some((m) => m.textContent?.startsWith('Scheduled #')));
    // Opened afresh (from the list after a reload), the header counts it.
    await page.reload();
    await page.click(`#conversations li[data-id="${id}"]`);
    await page.waitForFunction(() => document.querySelector('#title')?.textContent?.endsWith(' · 1 schedule'));
    expect(await page.getAttribute('#title', 'title')).toMatch(/^⏰ #\d+ look at the build \(active\)$/);
  });

  it('cannot be framed by a page of another origin; an origin in http.frame_ancestors may frame it', async () => {
    const page = await browser.newPage();
    for (const [name, server] of Object.entries(framing)) {
      await page.goto(`${originOf(server)}/`);
      const frame = await (await page.waitForSelector('iframe')).contentFrame();
      const shown = await frame!.waitForSelector('#login:visible', { timeout: name === 'allowed' ? 10_000 : 1_000 }).then(() => true, () => false);
      expect({ [name]: shown }).toEqual({ [name]: name === 'allowed' });
    }
    await page.close();
  });
});
