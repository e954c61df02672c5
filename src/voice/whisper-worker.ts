/**
 * Whisper through transformers.js, in a worker thread so that adapters stay responsive while it
 * listens. Loaded on the first voice note; then each request is one clip of 16 kHz mono samples.
 */
import { parentPort } from 'node:worker_threads';
import { localPipeline, type LocalModel } from '../local-model.js';

export interface WhisperLoad extends LocalModel {
  type: 'load';
}

export interface WhisperRequest {
  type: 'transcribe';
  id: number;
  samples: Float32Array;
  language: string;
}

export type WhisperReply =
  | { type: 'loaded' }
  | { type: 'load-failed'; message: string }
  | { type: 'text'; id: number; text: string }
  | { type: 'error'; id: number; message: string };

type Recognizer = (audio: Float32Array, options: Record<string, unknown>) => Promise<{ text: string } | { text: string }[]>;

let recognizer: Recognizer | undefined;
const port = parentPort!;

port.on('message', (message: WhisperLoad | WhisperRequest) => {
  if (message.type === 'load') void load(message);
  else void transcribe(message);
});

async function load(request: WhisperLoad): Promise<void> {
  try {
    recognizer = (await localPipeline('automatic-speech-recognition', request)) as Recognizer;
    port.postMessage({ type: 'loaded' } satisfies WhisperReply);
  } catch (err) {
    port.postMessage({ type: 'load-failed', message: (err as Error).message.split('\n')[0]! } satisfies WhisperReply);
  }
}

async function transcribe(request: WhisperRequest): Promise<void> {
  try {
    const options: Record<string, unknown> = { chunk_length_s: 30, stride_length_s: 5 };
    if (request.language) Object.assign(options, { language: request.language, task: 'transcribe' });
    const out = await recognizer!(request.samples, options);
    const text = (Array.isArray(out) ? out.map((o) => o.text).join(' ') : out.text).trim();
    port.postMessage({ type: 'text', id: request.id, text } satisfies WhisperReply);
  } catch (err) {
    port.postMessage({ type: 'error', id: request.id, message: (err as Error).message } satisfies WhisperReply);
  }
}
