/** Debian's Chromium through playwright-core, and pages that collect what the Content-Security-Policy blocked. */
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireTool } from '../system/host.js';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: requireTool('chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A page whose Content-Security-Policy violations (event or console report) and page errors are collected. */
export async function watchedPage(browser: Browser, options: Parameters<Browser['newPage']>[0] = {}): Promise<{ page: Page; violations: string[] }> {
  const page = await browser.newPage(options);
  const violations: string[] = [];
  await page.exposeFunction('reportViolation', (text: string) => violations.push(text));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => (window as any).reportViolation(`${e.violatedDirective} blocked ${e.blockedURI}`));
  });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
  });
  page.on('pageerror', (err) => violations.push(`page error: ${err.message}`));
  return { page, violations };
}
