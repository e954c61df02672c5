/**
 * The embedding model, in a worker thread so that adapters stay responsive while it computes.
 * Loaded once; then every message is a batch of texts, answered with one flat Float32Array.
 */
import { parentPort } from 'node:worker_threads';
import { localPipeline, type LocalModel } from '../local-model.js';

export interface LoadRequest extends LocalModel {
  type: 'load';
}

export interface EmbedRequest {
  type: 'embed';
  id: number;
  texts: string[];
}

export type WorkerReply =
  | { type: 'loaded'; dimension: number }
  | { type: 'load-failed'; message: string }
  | { type: 'vectors'; id: number; dimension: number; data: Float32Array }
  | { type: 'error'; id: number; message: string };

type Extractor = (texts: string[], options: { pooling: 'mean'; normalize: boolean }) => Promise<{ data: Float32Array; dims: number[] }>;

let extractor: Extractor | undefined;
const port = parentPort!;
const reply = (message: WorkerReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

port.on('message', (message: LoadRequest | EmbedRequest) => {
  if (message.type === 'load') void load(message);
  else void embed(message);
});

async function load(request: LoadRequest): Promise<void> {
  try {
    extractor = (await localPipeline('feature-extraction', request)) as Extractor;
    const probe = await extractor(['probe'], { pooling: 'mean', normalize: true });
    reply({ type: 'loaded', dimension: probe.dims.at(-1)! });
  } catch (err) {
    reply({ type: 'load-failed', message: (err as Error).message.split('\n')[0]! });
  }
}

async function embed(request: EmbedRequest): Promise<void> {
  try {
    const out = await extractor!(request.texts, { pooling: 'mean', normalize: true });
    const data = Float32Array.from(out.data);
    reply({ type: 'vectors', id: request.id, dimension: out.dims.at(-1)!, data }, [data.buffer]);
  } catch (err) {
    reply({ type: 'error', id: request.id, message: (err as Error).message });
  }
}
