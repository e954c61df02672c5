/**
 * Voice notes: an audio file a person sent, heard before the turn. The worker asks `transcribe` for
 * each audio file of a message (already saved in the workspace, so nothing is lost), shows the
 * transcript ("heard: ..."), and the transcript is the prompt. Every failure is a value with text for
 * the chat (what went wrong, what to do) and the cause for the log.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { backendFor, BackendError, type Backend, type VoiceConfig } from './backends.js';
import { decodeAudio, DecodeError } from './decode.js';

export type { VoiceConfig } from './backends.js';

/** An audio file as the worker has it: saved in the workspace. */
export interface AudioFile {
  name: string;
  /** Absolute path. */
  path: string;
  size: number;
  mime?: string;
}

export type Heard =
  | { ok: true; text: string; seconds: number; decodeMs: number; transcribeMs: number }
  | { ok: false; text: string; cause?: unknown };

const AUDIO_EXTENSIONS = /\.(ogg|oga|opus|mp3|m4a|aac|wav|webm|flac|amr)$/i;

/** Whether a file is something to listen to: marked as voice or audio by its adapter, or audio by type or name. */
export function isAudio(file: { kind?: string; mime?: string; name: string }): boolean {
  if (file.kind === 'voice' || file.kind === 'audio') return true;
  if (file.kind) return false;
  return !!file.mime?.startsWith('audio/') || AUDIO_EXTENSIONS.test(file.name);
}

export class Voice {
  private readonly backend: Backend | undefined;

  constructor(private readonly config: VoiceConfig, private readonly log: Logger) {
    this.backend = backendFor(config);
  }

  /** One line for /status. */
  describe(): string {
    return this.backend ? this.backend.describe() : 'off (voice notes get a reply saying so)';
  }

  /** Whether voice notes can be heard now (doctor). */
  async check(): Promise<{ ok: boolean; text: string }> {
    if (!this.backend) return { ok: true, text: 'off: voice notes are answered with how to turn it on' };
    return this.backend.check();
  }

  async transcribe(file: AudioFile): Promise<Heard> {
    const { config } = this;
    if (!this.backend) {
      return { ok: false, text: `I got your voice note (${file.name}, saved in the workspace), but voice notes are off here (voice.backend = "off"). The gateway's owner can turn them on with voice.backend = "local", "openai" or "command" in the config; until then, please type your message.` };
    }
    const maxBytes = config.max_mb * 1024 * 1024;
    if (file.size > maxBytes) {
      return { ok: false, text: `Your audio ${file.name} is ${mb(file.size)}; audio up to ${mb(maxBytes)} is transcribed (voice.max_mb). Send a shorter note, or type it.` };
    }
    const started = performance.now();
    let pcm;
    try {
      pcm = await decodeAudio(new Uint8Array(fs.readFileSync(file.path)), file.name);
    } catch (err) {
      this.log.warn({ err, file: file.name }, 'voice: could not decode');
      return { ok: false, text: err instanceof DecodeError ? err.message : `${file.name} could not be decoded (${(err as Error).message}).`, cause: err };
    }
    const decodeMs = performance.now() - started;
    if (pcm.seconds > config.max_seconds) {
      return { ok: false, text: `Your voice note is ${duration(pcm.seconds)} long; notes up to ${duration(config.max_seconds)} are transcribed (voice.max_seconds). Send a shorter one, or split it.` };
    }
    const signal = AbortSignal.timeout(config.timeout_s * 1000);
    try {
      const text = (await this.backend.transcribe(pcm, signal)).replace(/\s+/g, ' ').trim();
      const transcribeMs = performance.now() - started - decodeMs;
      if (!text) return { ok: false, text: `I could not make out any words in ${file.name} (${duration(pcm.seconds)}). Try again closer to the microphone, or type it.` };
      return { ok: true, text, seconds: pcm.seconds, decodeMs, transcribeMs };
    } catch (err) {
      this.log.warn({ err, backend: this.backend.name, file: file.name }, 'voice: transcription failed');
      if (signal.aborted) {
        return { ok: false, text: `Transcribing your voice note took longer than ${config.timeout_s} s (voice.timeout_s), so I stopped. It is saved; send it again to retry, or type it.`, cause: err };
      }
      const reason = err instanceof BackendError ? err.message : `Transcription failed: ${(err as Error).message}.`;
      return { ok: false, text: `${reason} Your voice note is saved; send it again once that is fixed, or type it.`, cause: err };
    }
  }

  async close(): Promise<void> {
    await this.backend?.close?.();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function duration(seconds: number): string {
  const s = Math.round(seconds);
  return s < 60 ? `${s} s` : `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
}

/**
 * What /status says about voice, without loading anything: the backend, and what can be known at once
 * of whether it works (the program on PATH, the model in the cache, the server's key). `cligate doctor` tries it.
 */
export function voiceStatus(config: VoiceConfig): string {
  const backend = backendFor(config);
  if (!backend) return 'off (voice.backend = "off": a voice note gets a reply saying so)';
  switch (config.backend) {
    case 'command': {
      const program = config.command[0];
      const found = program && (program.includes('/') ? executable(program) : (process.env.PATH ?? '').split(path.delimiter).some((d) => d && executable(path.join(d, program))));
      return `${backend.describe()}: ${!program ? 'not working, voice.command is empty' : found ? 'ready' : `not working, ${program} is not installed`}`;
    }
    case 'openai':
      return `${backend.describe()}${config.openai.api_key ? '' : ', no api_key set'}`;
    default: {
      const cached = fs.existsSync(path.join(config.local.cache_dir, config.local.model, 'config.json'));
      return `${backend.describe()}: ${cached ? 'model in the cache' : config.local.offline ? 'not working, the model is not in the cache and voice.local.offline is on' : 'the model is downloaded on the first voice note'}`;
    }
  }
}

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
