/**
 * Who turns speech into text: Whisper on this machine (local), an OpenAI-compatible server (openai),
 * or a program given a WAV file (command). Each throws a BackendError written for the person.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Config } from '../config/schema.js';
import { PROJECT_ROOT } from '../paths.js';
import { wavOf, type Pcm } from './decode.js';
import type { WhisperLoad, WhisperReply, WhisperRequest } from './whisper-worker.js';

export type VoiceConfig = Config['voice'];

/** A transcription failure: `message` is for the chat and names the fix. */
export class BackendError extends Error {}

export interface Backend {
  readonly name: VoiceConfig['backend'];
  /** One line for /status and doctor: what listens, where the audio goes. */
  describe(): string;
  transcribe(pcm: Pcm, signal: AbortSignal): Promise<string>;
  /** Whether it can work now (doctor): a command that runs, a server that answers, a model that loads. */
  check(): Promise<{ ok: boolean; text: string }>;
  close?(): Promise<void>;
}

export function backendFor(config: VoiceConfig): Backend | undefined {
  switch (config.backend) {
    case 'command': return new CommandBackend(config);
    case 'openai': return new OpenAiBackend(config);
    case 'local': return new LocalBackend(config);
    default: return undefined;
  }
}

/** A program that prints the text of a 16 kHz mono WAV (whisper.cpp's CLI, pocketsphinx). */
export class CommandBackend implements Backend {
  readonly name = 'command' as const;
  constructor(private readonly config: VoiceConfig) {}

  describe(): string {
    return `command \`${this.config.command.join(' ') || '(voice.command is empty)'}\` on this machine`;
  }

  async transcribe(pcm: Pcm, signal: AbortSignal): Promise<string> {
    const [program, ...rest] = this.config.command;
    if (!program) throw new BackendError('voice.backend is "command" but voice.command is empty: set it to a program that prints the text of a WAV file, e.g. ["pocketsphinx_continuous", "-logfn", "/dev/null", "-infile", "{wav}"].');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-voice-'));
    const wav = path.join(dir, 'note.wav');
    try {
      fs.writeFileSync(wav, wavOf(pcm));
      const args = rest.some((a) => a.includes('{wav}')) ? rest.map((a) => a.replaceAll('{wav}', wav)) : [...rest, wav];
      const argv = program.includes('{wav}') ? [program.replaceAll('{wav}', wav), ...args] : [program, ...args];
      return await run(argv, signal);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  async check(): Promise<{ ok: boolean; text: string }> {
    const program = this.config.command[0];
    if (!program) return { ok: false, text: 'voice.command is empty' };
    const found = program.includes('/') ? isExecutable(program) : (process.env.PATH ?? '').split(path.delimiter).some((d) => d && isExecutable(path.join(d, program)));
    return found ? { ok: true, text: `${program} found` } : { ok: false, text: `${program} is not installed or not on PATH` };
  }
}

function run(argv: string[], signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    const kill = () => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    signal.addEventListener('abort', kill, { once: true });
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-2000)));
    child.on('error', (e: NodeJS.ErrnoException) => {
      signal.removeEventListener('abort', kill);
      reject(new BackendError(e.code === 'ENOENT'
        ? `The transcription program ${argv[0]} is not installed on the gateway's machine (voice.command).`
        : `The transcription program ${argv[0]} could not start: ${e.message}.`, { cause: e }));
    });
    child.on('close', (code) => {
      signal.removeEventListener('abort', kill);
      if (signal.aborted) return reject(signal.reason);
      if (code !== 0) return reject(new BackendError(`The transcription program ${argv[0]} failed (exit code ${code}${err.trim() ? `: ${err.trim().split('\n').at(-1)}` : ''}).`));
      resolve(out.trim());
    });
  });
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Any OpenAI-compatible /v1/audio/transcriptions: OpenAI, Groq, a faster-whisper server. */
export class OpenAiBackend implements Backend {
  readonly name = 'openai' as const;
  constructor(private readonly config: VoiceConfig) {}

  private get endpoint(): string {
    return `${this.config.openai.url.replace(/\/+$/, '').replace(/\/v1$/, '')}/v1/audio/transcriptions`;
  }

  describe(): string {
    return `openai-compatible ${this.config.openai.model} at ${this.endpoint} (the audio is sent there)`;
  }

  async transcribe(pcm: Pcm, signal: AbortSignal): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(wavOf(pcm))], { type: 'audio/wav' }), 'note.wav');
    form.append('model', this.config.openai.model);
    form.append('response_format', 'json');
    let res: Response;
    try {
      res = await fetch(this.endpoint, {
        method: 'POST', body: form, signal,
        headers: this.config.openai.api_key ? { authorization: `Bearer ${this.config.openai.api_key}` } : {},
      });
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      throw new BackendError(`The transcription server at ${this.endpoint} could not be reached (${(err as Error).cause ? ((err as Error).cause as Error).message : (err as Error).message}).`, { cause: err });
    }
    const body = await res.text();
    if (!res.ok) {
      let detail = body.slice(0, 300);
      try {
        detail = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? detail;
      } catch {
        /* not JSON */
      }
      const hint = res.status === 401 ? ' Check voice.openai.api_key.' : res.status === 404 ? ' Check voice.openai.url and voice.openai.model.' : '';
      throw new BackendError(`The transcription server answered HTTP ${res.status}: ${detail}.${hint}`);
    }
    try {
      return String((JSON.parse(body) as { text?: unknown }).text ?? '').trim();
    } catch {
      return body.trim();
    }
  }

  async check(): Promise<{ ok: boolean; text: string }> {
    try {
      const text = await this.transcribe({ samples: new Float32Array(16_000), seconds: 1 }, AbortSignal.timeout(15_000));
      return { ok: true, text: `${this.endpoint} answered${text ? ` ("${text.slice(0, 40)}" for a second of silence)` : ''}` };
    } catch (err) {
      return { ok: false, text: (err as Error).message };
    }
  }
}

/** Whisper on this machine, through transformers.js, loaded on first use into the models cache. */
export class LocalBackend implements Backend {
  readonly name = 'local' as const;
  private worker?: Worker;
  private loaded?: Promise<{ ok: true } | { ok: false; error: string }>;
  private readonly pending = new Map<number, { resolve: (text: string) => void; reject: (err: Error) => void }>();
  private seq = 0;

  constructor(private readonly config: VoiceConfig) {}

  describe(): string {
    const { model, cache_dir } = this.config.local;
    return `local Whisper ${model} (transformers.js, models in ${cache_dir}; the audio stays on this machine)`;
  }

  /** Starts the model's worker and loads the weights, once; a failure says what was looked for and how to fix it. */
  load(): Promise<{ ok: true } | { ok: false; error: string }> {
    if (this.loaded) return this.loaded;
    const options = this.config.local;
    this.loaded = new Promise((settle) => {
      // Worker threads need JavaScript: the built file, also when cligate itself runs from source (tests).
      const file = path.join(PROJECT_ROOT, 'dist', 'src', 'voice', 'whisper-worker.js');
      if (!fs.existsSync(file)) return settle({ ok: false, error: `${file} is missing: run \`npm run build\`` });
      const worker = (this.worker = new Worker(file));
      worker.unref();
      worker.on('message', (reply: WhisperReply) => {
        if (reply.type === 'loaded') settle({ ok: true });
        else if (reply.type === 'load-failed') settle({ ok: false, error: whisperLoadFailure(options, reply.message) });
        else {
          const waiting = this.pending.get(reply.id);
          this.pending.delete(reply.id);
          if (reply.type === 'text') waiting?.resolve(reply.text);
          else waiting?.reject(new BackendError(`Whisper failed on this note: ${reply.message}`));
        }
      });
      worker.on('error', (err) => {
        settle({ ok: false, error: whisperLoadFailure(options, err.message) });
        for (const waiting of this.pending.values()) waiting.reject(new BackendError(`Whisper stopped: ${err.message}`));
        this.pending.clear();
      });
      worker.postMessage({ type: 'load', model: options.model, cacheDir: options.cache_dir, offline: options.offline, dtype: options.dtype } satisfies WhisperLoad);
    });
    return this.loaded;
  }

  async transcribe(pcm: Pcm, signal: AbortSignal): Promise<string> {
    const state = await this.load();
    if (!state.ok) throw new BackendError(`Voice notes cannot be transcribed: ${state.error}`);
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      const abort = () => {
        this.pending.delete(id);
        reject(signal.reason);
        // The model is busy with the clip: a fresh worker is the only way to stop it.
        void this.close();
      };
      if (signal.aborted) return abort();
      signal.addEventListener('abort', abort, { once: true });
      this.pending.set(id, {
        resolve: (text) => (signal.removeEventListener('abort', abort), resolve(text)),
        reject: (err) => (signal.removeEventListener('abort', abort), reject(err)),
      });
      this.worker!.postMessage({ type: 'transcribe', id, samples: pcm.samples, language: this.config.local.language } satisfies WhisperRequest);
    });
  }

  async check(): Promise<{ ok: boolean; text: string }> {
    const state = await this.load();
    return state.ok ? { ok: true, text: `${this.config.local.model} loaded` } : { ok: false, text: state.error };
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.loaded = undefined;
    await worker?.terminate();
  }
}

/** Said like memory's model failure: which model, where it looked, how to fix it. */
export function whisperLoadFailure(options: VoiceConfig['local'], reason: string): string {
  const local = path.join(options.cache_dir, options.model);
  const where = options.offline ? `in ${local} (voice.local.offline is on, so nowhere else)` : `in ${local} and on huggingface.co`;
  const suffix = options.dtype === 'fp32' ? '' : `_${options.dtype === 'q8' ? 'quantized' : options.dtype}`;
  return `the speech model ${options.model} could not be loaded (${reason}). cligate looked ${where}. `
    + `To fix it, start cligate once with network access and voice.local.offline = false (the model is then cached in ${options.cache_dir}), `
    + `or copy config.json, generation_config.json, preprocessor_config.json, tokenizer.json, tokenizer_config.json, `
    + `onnx/encoder_model${suffix}.onnx and onnx/decoder_model_merged${suffix}.onnx from https://huggingface.co/${options.model} into ${local}; `
    + `or use another backend (voice.backend = "openai" or "command").`;
}
