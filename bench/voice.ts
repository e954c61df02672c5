/**
 * Voice figures (`BENCH_ONLY=voice npm run bench`, also part of `npm run bench`): for the recording of
 * "go forward ten meters" (2.9 s, OGG/Opus), the time to decode it to 16 kHz PCM inside the gateway,
 * and to transcribe it with each backend that runs here: `command` with pocketsphinx (when installed),
 * `openai` against a loopback stand-in (so: the gateway's side of the request, no model), and `local`
 * when BENCH_WHISPER_DIR holds a Whisper model (none can be fetched offline).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { decodeAudio } from '../src/voice/decode.js';
import { Voice } from '../src/voice/index.js';
import { pocketsphinxCommand, voiceNote } from '../test/support/speech.js';

export interface VoiceFigures {
  decodeMs: number[];
  backends: Record<string, { transcribeMs: number[]; text: string } | { skipped: string }>;
}

export async function voiceBench(runs: number): Promise<VoiceFigures> {
  let note: Buffer;
  try {
    note = voiceNote();
  } catch (err) {
    return { decodeMs: [], backends: { all: { skipped: (err as Error).message } } };
  }
  const decodeMs: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    const started = performance.now();
    await decodeAudio(note, 'goforward.ogg');
    if (i > 0) decodeMs.push(performance.now() - started); // the first run compiles the WebAssembly
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-voice-bench-'));
  const file = path.join(dir, 'goforward.ogg');
  fs.writeFileSync(file, note);
  const stand = await openAiStandIn();
  const backends: VoiceFigures['backends'] = {};
  const configs: Record<string, Record<string, unknown> | string> = {
    'command (pocketsphinx)': (() => {
      try {
        return { backend: 'command', command: pocketsphinxCommand() };
      } catch (err) {
        return (err as Error).message;
      }
    })(),
    'openai (loopback stand-in)': { backend: 'openai', openai: { url: stand.url, api_key: 'bench' } },
    local: process.env.BENCH_WHISPER_DIR
      ? { backend: 'local', local: { model: process.env.BENCH_WHISPER_MODEL ?? 'onnx-community/whisper-tiny.en', cache_dir: process.env.BENCH_WHISPER_DIR, offline: true } }
      : 'no Whisper weights here (set BENCH_WHISPER_DIR to a models folder holding one)',
  };
  for (const [name, voice] of Object.entries(configs)) {
    if (typeof voice === 'string') {
      backends[name] = { skipped: voice };
      continue;
    }
    const listener = new Voice(configSchema.parse({ voice }).voice, silentLogger);
    const transcribeMs: number[] = [];
    let text = '';
    for (let i = 0; i < runs + 1; i++) {
      const heard = await listener.transcribe({ name: 'goforward.ogg', path: file, size: note.length });
      if (!heard.ok) {
        backends[name] = { skipped: heard.text };
        break;
      }
      text = heard.text;
      if (i > 0) transcribeMs.push(heard.transcribeMs); // the first run loads the model
    }
    await listener.close();
    if (!backends[name]) backends[name] = { transcribeMs, text };
  }
  await stand.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return { decodeMs, backends };
}

export function voiceReport(figures: VoiceFigures): string {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const lines = ['Voice (2.9 s of speech, OGG/Opus):', `  decode to 16 kHz PCM: median ${median(figures.decodeMs).toFixed(1)} ms`];
  for (const [name, result] of Object.entries(figures.backends)) {
    lines.push('skipped' in result
      ? `  ${name}: skipped (${result.skipped})`
      : `  ${name}: transcribe median ${median(result.transcribeMs).toFixed(0)} ms, max ${Math.max(...result.transcribeMs).toFixed(0)} ms ("${result.text}")`);
  }
  return lines.join('\n');
}

function openAiStandIn(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"go forward ten meters"}'));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  })));
}
