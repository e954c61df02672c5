/**
 * The web chat in a real headless Chromium (the system's, driven by playwright-core): log in with a
 * key, start a chat, send a message, watch the answer stream in and render as Markdown; and watch a
 * job of another channel live. Set SCREENSHOT=<file.png> to save a picture of the page.
 */
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { TestAdapter } from './support/test-adapter.js';
import { requireTool } from './system/host.js';

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
    executablePath: requireTool('chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await fake.stop();
});

describe('web chat', () => {
  it('logs in, sends a message and renders the streamed answer as Markdown', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 640 } });
    await page.goto(t.gateway.httpUrl + '/');
    await page.fill('#key', 'cg_wrong_key');
    await page.click('#login button');
    await expect.poll(() => page.textContent('#login-error')).toMatch(/refused/);

    await page.fill('#key', KEY);
    await page.click('#login button');
    await page.waitForSelector('#app:not([hidden])');
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
    if (process.env.SCREENSHOT) await page.screenshot({ path: process.env.SCREENSHOT });
    fake.respond = undefined;
    await page.close();
  });

  it('shows a job of another channel live, read-only', async () => {
    const page = await browser.newPage();
    await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
    await page.waitForSelector('#app:not([hidden])');
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
