/**
 * Terminal tabs over their WebSocket on loopback, against a real `cligate start` (sandbox as on this
 * machine): keystroke-to-echo (a character typed into `cat` in a shell tab, until its echo comes
 * back; target: median under 15 ms), and fan-out of one busy tab to 20 viewers (how far apart the 20
 * receive the same marker line; target: no viewer more than 100 ms behind). Run alone with
 * `BENCH_ONLY=terminal npm run bench`, or `node dist/bench/terminal.js` after `npm run build`.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { sha256 } from '../adapters/http/keys.js';
import { AnthropicFake } from '../test/support/anthropic-fake.js';
import { cliEnv, freePort, spawnCligate, testConfig, tmpDir, writeConfig } from '../test/support/harness.js';

const KEY = 'cg_bench_terminal_key_0123456789';

export interface TerminalBench {
  echo: { median: number; p99: number; samples: number };
  fanOut: { viewers: number; markers: number; bytes: number; medianSpread: number; maxSpread: number };
}

export async function terminalBench(fake: AnthropicFake, samples = 200, viewers = 20): Promise<TerminalBench> {
  const dir = tmpDir('cligate-bench-term-');
  const port = await freePort();
  const config = writeConfig(dir, testConfig(path.join(dir, 'data'), {
    http: { enabled: true, port, api_keys: [{ user: 'bench', sha256: sha256(KEY), admin: true }] },
    gateway: { log_level: 'info' },
    terminal: { max_per_user: 4 },
  }));
  const gateway = spawnCligate(['start', '--config', config], cliEnv(fake, dir));
  await gateway.waitFor(() => gateway.stderr.some((l) => l.includes('cligate started')), 30_000, 'start');
  const url = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
  try {
    const res = await fetch(`${url}/v1/conversations/bench/terminals`, { method: 'POST', headers, body: JSON.stringify({ kind: 'shell', cols: 200, rows: 50 }) });
    if (res.status !== 201) throw new Error(`no shell tab: ${res.status} ${await res.text()}`);
    const tab = (await res.json()) as { id: string };
    const socket = async () => {
      const { url: p } = (await (await fetch(`${url}/v1/conversations/bench/terminals/${tab.id}/ticket`, { method: 'POST', headers, body: '{}' })).json()) as { url: string };
      const ws = new WebSocket(url.replace('http', 'ws') + p);
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      return ws;
    };
    const input = (ws: WebSocket, data: string) => ws.send(JSON.stringify({ type: 'input', data }));

    // Keystroke to echo: `cat` in canonical mode, whose terminal echoes each character at once.
    const typist = await socket();
    let waiting: ((data: string) => void) | undefined;
    let all = '';
    typist.on('message', (data, binary) => {
      if (!binary) return;
      all += data.toString();
      waiting?.(data.toString());
    });
    input(typist, 'cat\r');
    await until(() => all.includes('cat\r\n'), 5000);
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const got = new Promise<void>((resolve) => (waiting = (d) => d.includes('x') && resolve()));
      const start = performance.now();
      input(typist, 'x');
      await got;
      times.push(performance.now() - start);
      if (i % 60 === 59) {
        input(typist, '\r');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    waiting = undefined;
    input(typist, '\x03');
    times.sort((a, b) => a - b);

    // Fan-out: 20 viewers of one tab printing fast; when does each see each marker line?
    const markers = 40;
    const seen: Map<number, number>[] = [];
    let bytes = 0;
    const sockets = await Promise.all(Array.from({ length: viewers }, async (_, v) => {
      const ws = await socket();
      const at = new Map<number, number>();
      seen[v] = at;
      let tail = '';
      ws.on('message', (data, binary) => {
        if (!binary) return;
        const now = performance.now();
        const text = tail + data.toString();
        if (v === 0) bytes += (data as Buffer).length;
        for (const m of text.matchAll(/MARK-(\d+)\r\n/g)) if (!at.has(Number(m[1]))) at.set(Number(m[1]), now);
        tail = text.slice(-16);
      });
      return ws;
    }));
    await new Promise((r) => setTimeout(r, 300));
    input(typist, `for i in $(seq 1 ${markers}); do seq 1 3000; echo "MARK-$i"; done\r`);
    await until(() => seen.every((at) => at.size >= markers), 60_000);
    const spreads = Array.from({ length: markers }, (_, i) => {
      const arrivals = seen.map((at) => at.get(i + 1)!);
      return Math.max(...arrivals) - Math.min(...arrivals);
    }).sort((a, b) => a - b);
    for (const ws of [typist, ...sockets]) ws.close();
    await fetch(`${url}/v1/conversations/bench/terminals/${tab.id}`, { method: 'DELETE', headers });
    return {
      echo: { median: pick(times, 0.5), p99: pick(times, 0.99), samples },
      fanOut: { viewers, markers, bytes, medianSpread: pick(spreads, 0.5), maxSpread: spreads.at(-1)! },
    };
  } finally {
    gateway.kill('SIGTERM');
    await gateway.exited;
  }
}

export function terminalReport(b: TerminalBench): string {
  return [
    '| terminal tab over its WebSocket (loopback) | |',
    '| --- | --- |',
    `| keystroke to echo, median / p99 (${b.echo.samples} keys, shell running cat) | ${b.echo.median.toFixed(2)} ms / ${b.echo.p99.toFixed(2)} ms |`,
    `| fan-out to ${b.fanOut.viewers} viewers: spread of one marker's arrival, median / max (${b.fanOut.markers} markers, ${(b.fanOut.bytes / 1024).toFixed(0)} KiB each) | ${b.fanOut.medianSpread.toFixed(2)} ms / ${b.fanOut.maxSpread.toFixed(2)} ms |`,
  ].join('\n');
}

function pick(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function until(check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('terminal bench: timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const fake = new AnthropicFake();
  await fake.start();
  console.log(terminalReport(await terminalBench(fake)));
  await fake.stop();
}
