import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { silentLogger } from '../log.js';
import { pocketsphinxCommand, SAID, voiceNote } from '../../test/support/speech.js';
import { decodeAudio, DecodeError, SAMPLE_RATE, wavOf } from './decode.js';
import { isAudio, Voice, type VoiceConfig } from './index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cligate-voice-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function voiceConfig(voice: Record<string, unknown>): VoiceConfig {
  return configSchema.parse({ voice }).voice;
}

/** A file in the workspace, as the worker hands it over. */
function saved(name: string, data: Buffer) {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return { name, path: file, size: data.length, mime: 'audio/ogg' };
}

describe('decoding', () => {
  it('turns an OGG/Opus voice note into 16 kHz mono samples, and a WAV back into the same', async () => {
    const pcm = await decodeAudio(voiceNote(), 'goforward.ogg');
    expect(pcm.seconds).toBeGreaterThan(2.5);
    expect(pcm.seconds).toBeLessThan(3.2);
    expect(pcm.samples.length).toBe(Math.floor(pcm.seconds * SAMPLE_RATE));
    const again = await decodeAudio(wavOf(pcm), 'note.wav');
    expect(again.samples.length).toBe(pcm.samples.length);
    expect(Math.abs(again.samples[8000]! - pcm.samples[8000]!)).toBeLessThan(1e-3);
  });

  it('says what is wrong with a corrupt file, and which formats need ffmpeg', async () => {
    const corrupt = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(4000, 7)]);
    await expect(decodeAudio(corrupt, 'broken.ogg')).rejects.toThrow(DecodeError);
    await expect(decodeAudio(corrupt, 'broken.ogg')).rejects.toThrow(/broken\.ogg could not be read as an OGG\/Opus voice note/);
    const noFfmpeg = decodeAudio(Buffer.from('ID3 not really an mp3'), 'song.mp3', { ffmpeg: '/nonexistent/ffmpeg' });
    await expect(noFfmpeg).rejects.toThrow('song.mp3 is not OGG/Opus or WAV, and other formats (MP3, M4A, WebM, MP4 video notes) need ffmpeg');
  });

  it('knows audio by the adapter\'s mark, the type or the name', () => {
    expect(isAudio({ name: 'voice-1.ogg', kind: 'voice' })).toBe(true);
    expect(isAudio({ name: 'x', mime: 'audio/mpeg' })).toBe(true);
    expect(isAudio({ name: 'clip.m4a' })).toBe(true);
    expect(isAudio({ name: 'photo.jpg', mime: 'image/jpeg' })).toBe(false);
  });
});

describe('the command backend', () => {
  it('hears "go forward ten meters" with pocketsphinx', async () => {
    const voice = new Voice(voiceConfig({ backend: 'command', command: pocketsphinxCommand() }), silentLogger);
    const heard = await voice.transcribe(saved('goforward.ogg', voiceNote()));
    expect(heard).toMatchObject({ ok: true, text: SAID });
    expect((await voice.check()).ok).toBe(true);
  });

  it('refuses a note over max_seconds or max_mb, and a backend that times out, each with the reason', async () => {
    const long = new Voice(voiceConfig({ backend: 'command', command: pocketsphinxCommand(), max_seconds: 2 }), silentLogger);
    expect(await long.transcribe(saved('long.ogg', voiceNote()))).toEqual({ ok: false, text: 'Your voice note is 3 s long; notes up to 2 s are transcribed (voice.max_seconds). Send a shorter one, or split it.' });
    const big = new Voice(voiceConfig({ backend: 'command', command: pocketsphinxCommand(), max_mb: 0.001 }), silentLogger);
    expect(await big.transcribe(saved('big.ogg', voiceNote()))).toMatchObject({ ok: false, text: expect.stringMatching(/^Your audio big\.ogg is 0\.0 MB; audio up to 0\.0 MB is transcribed \(voice\.max_mb\)/) });
    const slow = new Voice(voiceConfig({ backend: 'command', command: ['sh', '-c', 'sleep 30; echo too late', 'sh', '{wav}'], timeout_s: 0.5 }), silentLogger);
    const started = Date.now();
    expect(await slow.transcribe(saved('slow.ogg', voiceNote()))).toMatchObject({ ok: false, text: 'Transcribing your voice note took longer than 0.5 s (voice.timeout_s), so I stopped. It is saved; send it again to retry, or type it.' });
    expect(Date.now() - started).toBeLessThan(5000);
    const missing = new Voice(voiceConfig({ backend: 'command', command: ['/nonexistent/whisper-cli'] }), silentLogger);
    expect(await missing.transcribe(saved('m.ogg', voiceNote()))).toMatchObject({ ok: false, text: expect.stringContaining('The transcription program /nonexistent/whisper-cli is not installed') });
    expect(await missing.check()).toEqual({ ok: false, text: '/nonexistent/whisper-cli is not installed or not on PATH' });
  });

  it('with voice off, says so and how to turn it on', async () => {
    const off = new Voice(voiceConfig({ backend: 'off' }), silentLogger);
    expect(await off.transcribe(saved('off.ogg', voiceNote()))).toMatchObject({ ok: false, text: expect.stringContaining('voice notes are off here (voice.backend = "off")') });
  });
});

describe('the openai backend', () => {
  const requests: { auth?: string; type?: string; body: Buffer }[] = [];
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    // A stand-in for OpenAI's /v1/audio/transcriptions: multipart form with `file` and `model`.
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        requests.push({ auth: req.headers.authorization, type: req.headers['content-type'], body });
        if (req.url !== '/v1/audio/transcriptions') return res.writeHead(404).end();
        if (req.headers.authorization !== 'Bearer sk-test') {
          return res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided' } }));
        }
        const text = body.includes('RIFF') && body.includes('name="model"') ? SAID : '';
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: ` ${text} ` }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the note as a 16 kHz WAV in a multipart form and takes the text', async () => {
    const voice = new Voice(voiceConfig({ backend: 'openai', openai: { url, api_key: 'sk-test', model: 'whisper-large-v3' } }), silentLogger);
    expect(await voice.transcribe(saved('o.ogg', voiceNote()))).toMatchObject({ ok: true, text: SAID });
    const request = requests.at(-1)!;
    expect(request.type).toMatch(/^multipart\/form-data; boundary=/);
    const form = request.body.toString('latin1');
    expect(form).toMatch(/name="model"\r\n\r\nwhisper-large-v3\r\n/);
    expect(form).toMatch(/name="file"; filename="note.wav"\r\nContent-Type: audio\/wav\r\n\r\nRIFF/);
    expect(request.body.readUInt32LE(form.indexOf('WAVEfmt ') + 16)).toBe(16_000);
  });

  it('passes on the server\'s refusal with the fix', async () => {
    const voice = new Voice(voiceConfig({ backend: 'openai', openai: { url, api_key: 'wrong' } }), silentLogger);
    expect(await voice.transcribe(saved('o2.ogg', voiceNote()))).toMatchObject({
      ok: false, text: 'The transcription server answered HTTP 401: Incorrect API key provided. Check voice.openai.api_key. Your voice note is saved; send it again once that is fixed, or type it.',
    });
  });
});

describe('the local backend', () => {
  it('loads Whisper through transformers.js from the cache, and offline without the weights says what to copy where', async () => {
    const cache = path.join(dir, 'models');
    const voice = new Voice(voiceConfig({ backend: 'local', local: { model: 'onnx-community/whisper-tiny.en', cache_dir: cache, offline: true } }), silentLogger);
    const heard = await voice.transcribe(saved('l.ogg', voiceNote()));
    await voice.close();
    expect(heard.ok).toBe(false);
    expect(heard.text).toContain('Voice notes cannot be transcribed: the speech model onnx-community/whisper-tiny.en could not be loaded');
    expect(heard.text).toContain(`cligate looked in ${path.join(cache, 'onnx-community/whisper-tiny.en')} (voice.local.offline is on, so nowhere else)`);
    expect(heard.text).toContain('onnx/encoder_model_quantized.onnx and onnx/decoder_model_merged_quantized.onnx from https://huggingface.co/onnx-community/whisper-tiny.en');
  });
});
