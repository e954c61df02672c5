/**
 * Audio to 16 kHz mono PCM, the input every speech recognizer here wants. OGG/Opus (Telegram, Discord
 * and WhatsApp-style voice notes) is decoded inside the gateway with `ogg-opus-decoder` (WebAssembly,
 * installed by npm ci); WAV is read directly. Anything else (MP3, M4A/AAC, WebM, MP4 video notes) is
 * handed to `ffmpeg` when it is on PATH; without it the person is told which format needs it.
 */
import { spawn } from 'node:child_process';

export const SAMPLE_RATE = 16_000;

/** Decoded speech: 16 kHz mono samples in [-1, 1]. */
export interface Pcm {
  samples: Float32Array;
  seconds: number;
}

/** A decoding failure, written for the person: what was wrong with the file and what to do. */
export class DecodeError extends Error {}

export type AudioFormat = 'ogg' | 'wav' | 'other';

/** The container, from the file's first bytes (the name and the platform's mime type can lie). */
export function formatOf(data: Uint8Array): AudioFormat {
  const head = Buffer.from(data.subarray(0, 12)).toString('latin1');
  if (head.startsWith('OggS')) return 'ogg';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WAVE') return 'wav';
  return 'other';
}

export async function decodeAudio(data: Uint8Array, name: string, options: { ffmpeg?: string } = {}): Promise<Pcm> {
  const format = formatOf(data);
  if (format === 'ogg') return decodeOgg(data, name);
  if (format === 'wav') return decodeWav(data, name);
  return decodeWithFfmpeg(data, name, options.ffmpeg ?? 'ffmpeg');
}

async function decodeOgg(data: Uint8Array, name: string): Promise<Pcm> {
  const { OggOpusDecoder } = await import('ogg-opus-decoder');
  const decoder = new OggOpusDecoder();
  try {
    await decoder.ready;
    const decoded = await decoder.decodeFile(data);
    if (!decoded.samplesDecoded) {
      throw new DecodeError(`${name} could not be read as an OGG/Opus voice note (no audio in it${decoded.errors.length ? `: ${decoded.errors[0]!.message}` : ''}). Record it again and resend it.`);
    }
    return toPcm(mixDown(decoded.channelData), decoded.sampleRate);
  } catch (err) {
    if (err instanceof DecodeError) throw err;
    throw new DecodeError(`${name} could not be read as an OGG/Opus voice note (${(err as Error).message}). Record it again and resend it.`, { cause: err });
  } finally {
    decoder.free();
  }
}

/** PCM WAV (8/16/24/32-bit integer or 32-bit float), any rate and channel count. */
export function decodeWav(data: Uint8Array, name: string): Pcm {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let format = 0, channels = 0, rate = 0, bits = 0;
  let offset = 12;
  while (offset + 8 <= data.byteLength) {
    const id = Buffer.from(data.subarray(offset, offset + 4)).toString('latin1');
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ' && size >= 16) {
      format = view.getUint16(body, true);
      channels = view.getUint16(body + 2, true);
      rate = view.getUint32(body + 4, true);
      bits = view.getUint16(body + 14, true);
      if (format === 0xfffe && size >= 26) format = view.getUint16(body + 24, true);
    } else if (id === 'data') {
      if (!channels || !rate || (format !== 1 && format !== 3)) break;
      const width = bits / 8;
      const end = Math.min(data.byteLength, body + size);
      const frames = Math.floor((end - body) / (width * channels));
      const mono = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) sum += sampleAt(view, body + (i * channels + c) * width, bits, format);
        mono[i] = sum / channels;
      }
      return toPcm(mono, rate);
    }
    offset = body + size + (size % 2);
  }
  throw new DecodeError(`${name} is a WAV file cligate cannot read (it reads PCM and float WAV). Send it as a voice note instead.`);
}

function sampleAt(view: DataView, at: number, bits: number, format: number): number {
  if (format === 3) return bits === 64 ? view.getFloat64(at, true) : view.getFloat32(at, true);
  switch (bits) {
    case 8: return (view.getUint8(at) - 128) / 128;
    case 16: return view.getInt16(at, true) / 32768;
    case 24: return ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getInt8(at + 2) << 16))) / 8388608;
    default: return view.getInt32(at, true) / 2147483648;
  }
}

function decodeWithFfmpeg(data: Uint8Array, name: string, ffmpeg: string): Promise<Pcm> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-i', 'pipe:0', '-ac', '1', '-ar', String(SAMPLE_RATE), '-f', 'f32le', 'pipe:1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.stdin.on('error', () => {});
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new DecodeError(e.code === 'ENOENT'
        ? `${name} is not OGG/Opus or WAV, and other formats (MP3, M4A, WebM, MP4 video notes) need ffmpeg, which is not installed on the gateway's machine (apt-get install ffmpeg). Send a voice note instead.`
        : `${name} could not be decoded: ${e.message}.`, { cause: e }));
    });
    child.on('close', (code) => {
      if (code !== 0) return reject(new DecodeError(`${name} could not be decoded as audio (${err.trim().split('\n').at(-1) || `ffmpeg exit code ${code}`}). Record it again and resend it.`));
      const bytes = Buffer.concat(out);
      const samples = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4)).slice();
      if (!samples.length) return reject(new DecodeError(`${name} has no audio in it.`));
      resolve({ samples, seconds: samples.length / SAMPLE_RATE });
    });
    child.stdin.end(Buffer.from(data));
  });
}

function mixDown(channels: Float32Array[]): Float32Array {
  if (channels.length === 1) return channels[0]!;
  const out = new Float32Array(channels[0]!.length);
  for (const channel of channels) for (let i = 0; i < out.length; i++) out[i]! += channel[i]! / channels.length;
  return out;
}

/** Resampled to 16 kHz: a windowed-sinc low-pass at the new Nyquist frequency, then interpolation. */
export function toPcm(samples: Float32Array, rate: number): Pcm {
  if (rate === SAMPLE_RATE) return { samples, seconds: samples.length / SAMPLE_RATE };
  const ratio = rate / SAMPLE_RATE;
  const length = Math.floor(samples.length / ratio);
  const out = new Float32Array(length);
  const cutoff = Math.min(1, 1 / ratio);
  const reach = 16 * Math.max(1, ratio);
  const weightAt = (offset: number) => {
    const x = offset * cutoff;
    const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
    return sinc * (0.5 + 0.5 * Math.cos((Math.PI * offset) / (reach + 1)));
  };
  // Opus is always 48 kHz: a whole ratio puts every output sample on an input one, so one kernel serves all.
  const kernel = Number.isInteger(ratio) ? Float64Array.from({ length: 2 * reach + 1 }, (_, k) => weightAt(k - reach)) : undefined;
  for (let i = 0; i < length; i++) {
    const center = i * ratio;
    const start = Math.max(0, Math.ceil(center - reach));
    const end = Math.min(samples.length - 1, Math.floor(center + reach));
    let sum = 0, weight = 0;
    for (let j = start; j <= end; j++) {
      const w = kernel ? kernel[j - center + reach]! : weightAt(j - center);
      sum += samples[j]! * w;
      weight += w;
    }
    out[i] = weight ? sum / weight : 0;
  }
  return { samples: out, seconds: length / SAMPLE_RATE };
}

/** 16-bit PCM WAV of the samples: what the command and openai backends are given. */
export function wavOf(pcm: Pcm): Buffer {
  const data = Buffer.alloc(pcm.samples.length * 2);
  for (let i = 0; i < pcm.samples.length; i++) data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, pcm.samples[i]!)) * 32767), i * 2);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(SAMPLE_RATE, 24);
  header.writeUInt32LE(SAMPLE_RATE * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
