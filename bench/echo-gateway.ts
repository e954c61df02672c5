/**
 * The gateway's own ceiling, apart from any CLI: a `cligate start`-like process (the HTTP adapter,
 * the configured queue driver, workers, delivery) whose Claude engine is replaced by an in-process
 * echo engine that spawns nothing. Driven by bench/ceiling.ts over IPC:
 *   hold    - the engine waits before answering, so messages pile up in the queue
 *   release - it answers everything held and everything after at once (answered: `finished` events)
 *   reset   - starts the event-loop delay histogram afresh
 *   report  - replies { maxStallMs, rssMb, peakRssMb, ... }
 * Bench only: nothing in src/ knows about it.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { messengerAdapters } from '../adapters/index.js';
import { loadConfig } from '../src/config/load.js';
import { Gateway } from '../src/gateway.js';
import { createLogger } from '../src/log.js';
import { EchoEngine } from './echo-engine.js';

async function main(): Promise<void> {
  const loaded = loadConfig(process.argv[2]!);
  if (!loaded.ok) throw new Error(loaded.error);
  const config = loaded.config;
  const log = createLogger({ level: 'warn', secrets: [] });
  const gateway = await Gateway.start(config, { role: 'all', adapters: await messengerAdapters(config, log), log });
  const engine = new EchoEngine();
  gateway.engines!.use(engine);
  // Answered: the turn's outcome and reply recorded (the `finished` event), counted from the release.
  let finished = 0;
  let releasedAt = 0;
  let lastFinishedAt = 0;
  gateway.bus.subscribe((event) => {
    if (event.type !== 'finished') return;
    finished++;
    lastFinishedAt = performance.now();
  });
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let peak = 0;
  const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
  sample.unref();
  process.on('message', (m: { cmd: string }) => {
    switch (m.cmd) {
      case 'hold':
        engine.hold();
        break;
      case 'release':
        releasedAt = performance.now();
        engine.open();
        break;
      case 'reset':
        delay.reset();
        peak = process.memoryUsage.rss();
        break;
      case 'report':
        peak = Math.max(peak, process.memoryUsage.rss());
        process.send!({
          cmd: 'ok', maxStallMs: delay.max / 1e6, p99StallMs: delay.percentile(99) / 1e6,
          rssMb: process.memoryUsage.rss() / 2 ** 20, peakRssMb: peak / 2 ** 20, answered: engine.answered, finished, answerMs: lastFinishedAt - releasedAt,
        });
        return;
      case 'stop':
        void gateway.stop().then(() => process.exit(0));
        break;
    }
    process.send!({ cmd: 'ok' });
  });
  process.send!({ cmd: 'ready', url: gateway.httpUrl });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
