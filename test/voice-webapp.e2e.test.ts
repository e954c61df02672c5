/**
 * The web app's microphone in a real headless Chromium, whose fake capture device plays Debian's
 * recording of "go forward ten meters": a click records (MediaRecorder), a second click sends the note
 * (decoded in the page to a 16 kHz WAV); pocketsphinx hears it (voice.backend = "command"), the page
 * shows "heard: ..." and then the answer, and Claude (the stand-in) got the words.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { HttpAdapter } from '../adapters/http/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { pocketsphinxCommand, SAID } from './support/speech.js';
import { requireTool } from './system/host.js';
import { POCKETSPHINX_CLIP } from './system/tools.js';
import { wavOf } from '../src/voice/decode.js';

const fake = new AnthropicFake();
const KEY = 'cg_voice_webapp_key_0123456789';
let t: TestGateway;
let browser: Browser;

beforeAll(async () => {
  await fake.start();
  t = await startTestGateway(fake, {
    config: {
      http: { enabled: true, port: 0, api_keys: [{ user: 'web', sha256: sha256(KEY) }] },
      voice: { backend: 'command', command: pocketsphinxCommand() },
    },
    adapters: (config) => [new HttpAdapter({ http: config.http })],
  });
  // The sentence, then silence: the fake device plays the file in a loop, and the recording stops in the silence.
  const raw = fs.readFileSync(POCKETSPHINX_CLIP);
  const speech = new Float32Array(raw.length / 2).map((_, i) => raw.readInt16LE(i * 2) / 32768);
  const padded = new Float32Array(speech.length + 16_000 * 4);
  padded.set(speech, 8_000);
  const wav = path.join(t.dir, 'goforward.wav');
  fs.writeFileSync(wav, wavOf({ samples: padded, seconds: padded.length / 16_000 }));
  browser = await chromium.launch({
    executablePath: requireTool('chromium'),
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await fake.stop();
});

it('records from the microphone, shows "heard: ..." and answers the words', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(`${t.gateway.httpUrl}/#key=${KEY}`);
  await page.waitForSelector('#app:not([hidden])');
  await page.click('#new-chat');
  await page.waitForFunction(() => document.querySelector('#title')?.textContent?.startsWith('http:web:chat-'));
  await page.click('#mic');
  await page.waitForSelector('#mic.recording');
  await page.waitForTimeout(4_000);
  await page.click('#mic');
  await page.waitForFunction((said) => [...document.querySelectorAll('.msg.assistant:not(.live)')].some((m) => m.textContent?.includes(`echo: ${said}`)), SAID, { timeout: 40_000 }).catch(async (err) => {
    const lines = await page.$$eval('#transcript .msg', (all) => all.map((m) => `${m.className}: ${m.textContent?.trim()}`));
    throw new Error(`${err.message}\npage: ${JSON.stringify(lines)}\nprompts: ${JSON.stringify(fake.prompts())}\nerrors: ${JSON.stringify(errors)}`);
  });
  const shown = await page.$$eval('#transcript .msg', (all) => all.map((m) => `${m.className.replace('msg ', '')}: ${m.textContent?.trim()}`));
  expect(shown.findIndex((line) => line === `notice: heard: ${SAID}`)).toBeGreaterThan(-1);
  expect(shown.findIndex((line) => line === `notice: heard: ${SAID}`)).toBeLessThan(shown.findIndex((line) => line.includes(`echo: ${SAID}`)));
  expect(fake.prompts().at(-1)).toBe(SAID);
  expect(errors).toEqual([]);
}, 90_000);
