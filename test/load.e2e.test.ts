/**
 * Load: 120 messages over 20 conversations (more than its 8 live processes) through the HTTP API of
 * a `cligate start` process, the real CLI against the Anthropic stand-in in slow mode. Every message
 * answered, each conversation in order; the gateway's peak RSS is reported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { cliEnv, freePort, spawnCligate, testConfig, tmpDir, writeConfig } from './support/harness.js';
import { readSse } from './support/sse.js';

const CONVERSATIONS = 20;
const PER_CONVERSATION = 6;
// Slow mode: every answer streams in 40-character pieces, 25 ms apart.
const anthropic = new AnthropicFake({ delayMs: 25, chunkSize: 40 });
const KEY = 'cg_load_test_key_0000000000000000';

beforeAll(async () => {
  await anthropic.start();
});
afterAll(async () => {
  await anthropic.stop();
});

function peakRssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

describe('load', () => {
  it(`answers ${CONVERSATIONS * PER_CONVERSATION} messages over ${CONVERSATIONS} conversations, each conversation in order`, async () => {
    const dir = tmpDir();
    const port = await freePort();
    const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
      gateway: { log_level: 'info' },
      worker: { concurrency: 8 },
      live: { enabled: true, max_processes: 8 },
      http: { enabled: true, port, api_keys: [{ user: 'load', sha256: sha256(KEY) }] },
    }));
    const gateway = spawnCligate(['start', '--config', config], cliEnv(anthropic, dir));
    await gateway.waitFor(() => gateway.stderr.some((l) => l.includes('cligate started')), 30_000, 'start');
    const idleRss = peakRssMb(gateway.child.pid!);
    const started = Date.now();
    try {
      const answers = await Promise.all(Array.from({ length: CONVERSATIONS }, async (_, c) => {
        const streams: Promise<string>[] = [];
        for (let m = 0; m < PER_CONVERSATION; m++) {
          const res = await fetch(`http://127.0.0.1:${port}/v1/conversations/load-${c}/messages`, {
            method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: `c${c} m${m}` }),
          });
          // The next message is sent once this one is accepted (its "queued" event), so their order is known.
          let accepted: () => void = () => {};
          const queued = new Promise<void>((r) => (accepted = r));
          streams.push(readSse(res, (e) => e.event === 'queued' && accepted()).then((events) => events.at(-1)!.data.text as string));
          await queued;
        }
        return Promise.all(streams);
      }));
      const seconds = (Date.now() - started) / 1000;

      for (let c = 0; c < CONVERSATIONS; c++) {
        expect(answers[c]).toEqual(Array.from({ length: PER_CONVERSATION }, (_, m) => `echo: c${c} m${m}`));
        const seen = anthropic.prompts().filter((p) => p.startsWith(`c${c} `));
        expect(seen).toEqual(Array.from({ length: PER_CONVERSATION }, (_, m) => `c${c} m${m}`));
      }
      const peak = peakRssMb(gateway.child.pid!);
      // Reported, not asserted: the figure depends on the machine. See the README.
      console.log(`load: ${CONVERSATIONS * PER_CONVERSATION} messages in ${seconds.toFixed(1)} s; gateway RSS idle ${idleRss.toFixed(0)} MB, peak ${peak.toFixed(0)} MB`);
      expect(peak).toBeLessThan(1024);
    } finally {
      gateway.kill('SIGTERM');
      await gateway.exited;
    }
  }, 300_000);
});
