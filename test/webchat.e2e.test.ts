/**
 * The web chat in a real headless Chromium (Debian's, driven by playwright-core), asserting what a
 * person sees: only the login card before logging in, only the app after, only the card again after
 * logging out; a chat whose answer streams in and renders as Markdown; a job of another channel,
 * followed live. Set SCREENSHOT=<file.png> to save a picture of the page.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { TestAdapter } from './support/test-adapter.js';

const fake = new AnthropicFake();
const KEY = 'cg_webchat_test_key_0123456789';
let t: TestGateway;
let browser: Browser;
const other = new TestAdapter();

beforeAll(async () => {
  await fake.start();
  t = await startTestGateway(fake, {
    config: { http: { enabled: true, port: 0, api_keys: [{ user: 'web', sha256: sha256(KEY) }] } },
    adapters: (config) => [new HttpAdapter({ http: config.http }), other],
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await fake.stop();
});

/** What a person sees: which of the login card and the app are on screen. */
async function onScreen(page: Page): Promise<{ login: boolean; app: boolean }> {
  return { login: await page.isVisible('#login'), app: await page.isVisible('#app') };
}

describe('web chat', () => {
  it('shows only the login card, then only the app, and the answer streamed and rendered; log out shows only the card', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
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
    await page.close();
  });

  it('shows a job of another channel live, read-only (phone width)', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
    expect(await onScreen(page)).toEqual({ login: false, app: true });
    await other.say('elsewhere', 'first from elsewhere');
    await page.waitForSelector('#conversations li[data-id="local:elsewhere"]');
    await page.click('#conversations li[data-id="local:elsewhere"]');
    // The composer turns read-only once the conversation's transcript has been fetched.
    await page.waitForSelector('#input:disabled');
    fake.respond = (req) => (req.prompt === 'watch me write' ? { text: 'slowly written answer', chunkSize: 2, delayMs: 60 } : undefined);
    await other.say('elsewhere', 'watch me write');
    await page.waitForSelector('.msg.live');
    await page.waitForFunction(() => /slowly written answer/.test(document.querySelector('#transcript')?.textContent ?? ''));
    fake.respond = undefined;
    await page.close();
  });

  it('escapes HTML in answers', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
    await page.click('#new-chat');
    await page.waitForFunction(() => document.querySelector('#title')?.textContent?.startsWith('http:web:chat-'));
    fake.respond = (req) => (req.prompt === 'xss' ? { text: 'look <img src=x onerror="window.pwned=1"> [x](javascript:alert(1))' } : undefined);
    await page.fill('#input', 'xss');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => /look/.test(document.querySelector('.msg.assistant:not(.live)')?.textContent ?? ''));
    expect(await page.evaluate(() => (window as any).pwned)).toBeUndefined();
    expect(await page.locator('.msg.assistant img').count()).toBe(0);
    expect(await page.getAttribute('.msg.assistant a', 'href')).toBe('#');
    fake.respond = undefined;
    await page.close();
  });
});
