/**
 * A transformers.js pipeline for a model kept on this machine (memory's embedder, voice's Whisper),
 * loaded in a worker thread: from the models cache, fetched into it on first use unless offline.
 */
export interface LocalModel {
  model: string;
  cacheDir: string;
  /** Only what is in the cache: nothing is downloaded. */
  offline: boolean;
  dtype: string;
}

export async function localPipeline(task: 'feature-extraction' | 'automatic-speech-recognition', model: LocalModel): Promise<unknown> {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowLocalModels = true;
  env.allowRemoteModels = !model.offline;
  env.localModelPath = model.cacheDir;
  env.cacheDir = model.cacheDir;
  return pipeline(task, model.model, { dtype: model.dtype as 'fp32' });
}
