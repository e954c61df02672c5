/**
 * Turns texts into vectors with a local transformers.js model, off the main thread. Texts asked for
 * while the model is busy wait and go together as one batch. If the model cannot be loaded, `ready`
 * says why (which model, where it looked, how to fix it) and the gateway goes on without memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { PROJECT_ROOT } from '../paths.js';
import type { EmbedRequest, LoadRequest, WorkerReply } from './embed-worker.js';

export interface EmbedderOptions {
  model: string;
  cacheDir: string;
  offline: boolean;
  dtype: string;
}

export type EmbedderState = { ok: true; dimension: number } | { ok: false; error: string };

/** Most texts sent to the model in one batch. */
const BATCH = 32;

export class Embedder {
  readonly ready: Promise<EmbedderState>;
  private readonly worker: Worker;
  private readonly waiting: { texts: string[]; resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }[] = [];
  private readonly inFlight = new Map<number, { parts: { count: number; resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }[] }>();
  private seq = 0;
  private busy = false;

  constructor(readonly options: EmbedderOptions) {
    // Worker threads need JavaScript: the built file, also when cligate itself runs from source (tests).
    const file = path.join(PROJECT_ROOT, 'dist', 'src', 'memory', 'embed-worker.js');
    if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\``);
    this.worker = new Worker(file);
    this.worker.unref();
    let settle: (state: EmbedderState) => void = () => {};
    this.ready = new Promise((resolve) => (settle = resolve));
    this.worker.on('message', (reply: WorkerReply) => {
      if (reply.type === 'loaded') settle({ ok: true, dimension: reply.dimension });
      else if (reply.type === 'load-failed') settle({ ok: false, error: loadFailure(options, reply.message) });
      else this.settleBatch(reply);
    });
    this.worker.on('error', (err) => settle({ ok: false, error: loadFailure(options, err.message) }));
    this.worker.postMessage({ type: 'load', ...options } satisfies LoadRequest);
  }

  /** One normalized vector per text. */
  embed(texts: string[]): Promise<Float32Array[]> {
    if (!texts.length) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.waiting.push({ texts, resolve, reject });
      this.flush();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }

  private flush(): void {
    if (this.busy || !this.waiting.length) return;
    const parts: { count: number; resolve: (v: Float32Array[]) => void; reject: (e: Error) => void }[] = [];
    const texts: string[] = [];
    while (this.waiting.length && (texts.length === 0 || texts.length + this.waiting[0]!.texts.length <= BATCH)) {
      const next = this.waiting.shift()!;
      texts.push(...next.texts);
      parts.push({ count: next.texts.length, resolve: next.resolve, reject: next.reject });
    }
    const id = ++this.seq;
    this.busy = true;
    this.inFlight.set(id, { parts });
    this.worker.postMessage({ type: 'embed', id, texts } satisfies EmbedRequest);
  }

  private settleBatch(reply: Extract<WorkerReply, { type: 'vectors' | 'error' }>): void {
    const batch = this.inFlight.get(reply.id);
    this.inFlight.delete(reply.id);
    this.busy = false;
    if (batch) {
      if (reply.type === 'error') {
        for (const part of batch.parts) part.reject(new Error(`embedding failed: ${reply.message}`));
      } else {
        let offset = 0;
        for (const part of batch.parts) {
          const vectors: Float32Array[] = [];
          for (let i = 0; i < part.count; i++, offset++) vectors.push(reply.data.slice(offset * reply.dimension, (offset + 1) * reply.dimension));
          part.resolve(vectors);
        }
      }
    }
    this.flush();
  }
}

function loadFailure(options: EmbedderOptions, reason: string): string {
  const local = path.join(options.cacheDir, options.model);
  const where = options.offline ? `in ${local} (memory.offline is on, so nowhere else)` : `in ${local} and on huggingface.co`;
  const file = options.dtype === 'fp32' ? 'onnx/model.onnx' : `onnx/model_${options.dtype === 'q8' ? 'quantized' : options.dtype}.onnx`;
  return `the embedding model ${options.model} could not be loaded (${reason}). cligate looked ${where}. `
    + `To fix it, start cligate once with network access and memory.offline = false (the model is then cached in ${options.cacheDir}), `
    + `or copy config.json, tokenizer.json, tokenizer_config.json and ${file} from https://huggingface.co/${options.model} into ${local}.`;
}
