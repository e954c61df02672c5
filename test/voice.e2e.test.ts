/**
 * Voice notes end to end, with real speech: Debian's recording of "go forward ten meters", encoded to
 * OGG/Opus, sent as a Telegram voice note, a Discord voice message and a Slack audio file through the
 * stand-ins, heard by pocketsphinx (voice.backend = "command"). Claude (the stand-in) gets the words;
 * the chat sees "heard: ..." before the answer. What cannot be heard gets a reply, and the next message works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordAdapter } from '../adapters/discord/index.js';
import { HttpAdapter } from '../adapters/http/index.js';
import { MatrixAdapter } from '../adapters/matrix/index.js';
import { sha256 } from '../adapters/http/keys.js';
import { SlackAdapter } from '../adapters/slack/index.js';
import { TelegramAdapter } from '../adapters/telegram/index.js';
import { AnthropicFake } from './support/anthropic-fake.js';
import { DiscordFake } from './support/discord-fake.js';
import { startTestGateway, type TestGateway } from './support/gateway.js';
import { eventually } from './support/harness.js';
import { MatrixFake } from './support/matrix-fake.js';
import { eventCallback, SlackFake, slackSignature } from './support/slack-fake.js';
import { pocketsphinxCommand, SAID, voiceNote } from './support/speech.js';
import { TelegramFake } from './support/telegram-fake.js';

const anthropic = new AnthropicFake();
const telegram = new TelegramFake();
const discord = new DiscordFake();
const slack = new SlackFake();
const matrix = new MatrixFake();
const MATRIX_ALICE = '@alice:fake.local';
const MATRIX_DM = '!dm-voice:fake.local';
const SECRET = 'voice-signing-secret';
const ALICE = '600000000000000001';
const KEY = 'cg_test_key_for_voice_0123456789';
let t: TestGateway;

beforeAll(async () => {
  await Promise.all([anthropic.start(), telegram.start(), discord.start(), slack.start(), matrix.start()]);
  matrix.room(MATRIX_DM, [MATRIX_ALICE]);
  t = await startTestGateway(anthropic, {
    config: {
      http: { enabled: true, port: 0, api_keys: [{ user: 'alice', sha256: sha256(KEY) }] },
      voice: { backend: 'command', command: pocketsphinxCommand() },
      telegram: { token: telegram.token, api_root: telegram.url, allowed_users: [42] },
      discord: { token: 'fake.discord.token', api_url: discord.api, allowed_users: [ALICE], dev_guild_id: discord.guildId },
      slack: { bot_token: slack.botToken, signing_secret: SECRET, mode: 'http', api_url: slack.apiUrl, allowed_users: ['U1'] },
      matrix: { homeserver_url: matrix.url, access_token: matrix.token, user_id: matrix.botUserId, allowed_users: [MATRIX_ALICE] },
    },
    adapters: (config) => [new TelegramAdapter(config.telegram), new DiscordAdapter(config.discord), new SlackAdapter(config.slack), new HttpAdapter({ http: config.http }), new MatrixAdapter(config.matrix)],
  });
  await discord.connected();
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await Promise.all([anthropic.stop(), telegram.stop(), discord.stop(), slack.stop(), matrix.stop()]);
});

const texts = (chat: number) => telegram.chat(chat).map((m) => m.text);

/** Sends a Telegram voice note holding `data`; resolves with the chat's texts once `count` replies are there. */
async function telegramVoice(chat: number, data: Buffer, count: number, caption?: string): Promise<string[]> {
  const fileId = `voice-${Math.random().toString(36).slice(2)}`;
  telegram.files.set(`files/${fileId}`, data);
  telegram.userMessage({ chatId: chat, userId: 42, voice: { fileId, size: data.length, duration: 3 }, caption });
  await eventually(() => telegram.chat(chat).length >= count, 30_000, `${count} replies in chat ${chat}`);
  return texts(chat);
}

describe('a Telegram voice note', () => {
  it('is heard, shown as "heard: ..." first, and answered with the words as the prompt', async () => {
    const chat = await telegramVoice(42, voiceNote(), 2);
    expect(chat).toEqual([`heard: ${SAID}`, `echo: ${SAID}`]);
    expect(anthropic.prompts().at(-1)).toBe(SAID);
  }, 60_000);

  it('with a caption: the caption, then the words', async () => {
    await telegramVoice(43, voiceNote(), 2, 'please do this:');
    expect(anthropic.prompts().at(-1)).toBe(`please do this:\n\n${SAID}`);
  }, 60_000);

  it('corrupt, over-long, or heard too slowly: a clear reply each, and the next message works', async () => {
    // Telegram is allowed to talk in chat 44 too: the allow-list is per user.
    const corrupt = await telegramVoice(44, Buffer.concat([Buffer.from('OggS'), Buffer.alloc(3000, 9)]), 1);
    expect(corrupt.at(-1)).toMatch(/^⚠️ voice-\d+\.ogg could not be read as an OGG\/Opus voice note \(.*\)\. Record it again and resend it\.$/);

    t.config.voice.max_seconds = 2;
    const long = await telegramVoice(44, voiceNote(), 2);
    expect(long.at(-1)).toBe('⚠️ Your voice note is 3 s long; notes up to 2 s are transcribed (voice.max_seconds). Send a shorter one, or split it.');
    t.config.voice.max_seconds = 300;

    t.config.voice.timeout_s = 0.2;
    const slow = await telegramVoice(44, voiceNote(), 3);
    expect(slow.at(-1)).toBe('⚠️ Transcribing your voice note took longer than 0.2 s (voice.timeout_s), so I stopped. It is saved; send it again to retry, or type it.');
    t.config.voice.timeout_s = 120;

    const again = await telegramVoice(44, voiceNote(), 5);
    expect(again.slice(-2)).toEqual([`heard: ${SAID}`, `echo: ${SAID}`]);
    telegram.userMessage({ chatId: 44, userId: 42, text: 'and typed' });
    await eventually(() => texts(44).includes('echo: and typed'), 20_000, 'typed answer');
  }, 90_000);

  it('an audio file in a format that needs ffmpeg says so when it cannot be decoded', async () => {
    const fileId = 'audio-mp3';
    const data = Buffer.from('ID3\u0003 not really an mp3, just its first bytes');
    telegram.files.set(`files/${fileId}`, data);
    telegram.userMessage({ chatId: 46, userId: 42, audio: { fileId, name: 'song.mp3', size: data.length, mime: 'audio/mpeg', duration: 3 } });
    await eventually(() => telegram.chat(46).length === 1, 20_000, 'reply');
    // Without ffmpeg on the machine: which formats need it; with it: that this file is not audio.
    expect(texts(46)[0]).toMatch(/^⚠️ song\.mp3 (is not OGG\/Opus or WAV, and other formats \(MP3, M4A, WebM, MP4 video notes\) need ffmpeg|could not be decoded as audio)/);
  }, 30_000);

  it('/status shows the voice backend and whether it can work', async () => {
    telegram.userMessage({ chatId: 47, userId: 42, text: '/status' });
    await eventually(() => telegram.chat(47).length === 1, 20_000, 'status');
    // Telegram shows the Markdown's code span as HTML.
    expect(texts(47)[0]).toMatch(/Voice notes: command <code>\S*pocketsphinx_continuous -logfn \/dev\/null -infile \{wav\}<\/code> on this machine: ready\./);
  }, 30_000);

  it('a sticker, a poll or a location gets a reply saying so, never silence', async () => {
    telegram.userMessage({ chatId: 45, userId: 42, sticker: true });
    await eventually(() => telegram.chat(45).length === 1, 20_000, 'sticker reply');
    telegram.userMessage({ chatId: 45, userId: 42, location: true });
    await eventually(() => telegram.chat(45).length === 2, 20_000, 'location reply');
    expect(texts(45)).toEqual([
      "I can't use stickers: send text, a file or a voice note for Claude.",
      "I can't use locations: send text, a file or a voice note for Claude.",
    ]);
  }, 30_000);
});

describe('other messengers', () => {
  it('a Discord voice message (IS_VOICE_MESSAGE, OGG/Opus) is heard and answered', async () => {
    const data = voiceNote();
    discord.files.set('800000000000000001', data);
    discord.userMessage('', {
      dm: true, flags: 8192,
      attachments: [{ id: '800000000000000001', filename: 'voice-message.ogg', size: data.length, content_type: 'audio/ogg', duration_secs: 2.9 }],
    });
    const dm = () => discord.inChannel(discord.dmChannelOf(ALICE)).map((m) => m.content);
    await eventually(() => dm().includes(`echo: ${SAID}`), 30_000, 'Discord answer').catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(dm())} ${JSON.stringify(anthropic.prompts())}`);
    });
    expect(dm()).toEqual([`heard: ${SAID}`, `echo: ${SAID}`]);
  }, 60_000);

  it('a Slack audio file is heard and answered', async () => {
    const data = voiceNote();
    slack.files.set('F1', data);
    const event = eventCallback({
      type: 'message', subtype: 'file_share', channel_type: 'im', user: 'U1', text: '', ts: '1700000100.000001', channel: 'DV',
      files: [{ id: 'F1', name: 'audio_message.ogg', mimetype: 'audio/ogg', size: data.length, url_private_download: `${slack.url}/files/F1` }],
    });
    const body = JSON.stringify(event);
    const res = await fetch(`${t.gateway.httpUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...slackSignature(SECRET, body) }, body });
    expect(res.status).toBe(200);
    await eventually(() => slack.inChannel('DV').some((m) => m.text === `echo: ${SAID}`), 30_000, 'Slack answer');
    expect(slack.inChannel('DV').map((m) => m.text)).toEqual([`heard: ${SAID}`, `echo: ${SAID}`]);
  }, 60_000);

  it('a Matrix voice message (m.audio, MSC3245) is heard and answered; a location gets a reply', async () => {
    const data = voiceNote();
    matrix.media.set('voice1', { data, type: 'audio/ogg' });
    matrix.say(MATRIX_DM, MATRIX_ALICE, {
      msgtype: 'm.audio', body: 'Voice message', filename: 'voice-message.ogg', url: 'mxc://fake.local/voice1',
      info: { size: data.length, mimetype: 'audio/ogg', duration: 2900 }, 'org.matrix.msc3245.voice': {},
    });
    const said = () => matrix.botMessages(MATRIX_DM).map((m) => m.text);
    await eventually(() => said().includes(`echo: ${SAID}`), 30_000, 'Matrix answer').catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(said())} ${JSON.stringify(t.gateway.store.db.raw.prepare("select conversation_id, status, error_message, attachments from messages where platform = 'matrix'").all())}`);
    });
    expect(said()).toEqual([`heard: ${SAID}`, `echo: ${SAID}`]);
    matrix.say(MATRIX_DM, MATRIX_ALICE, { msgtype: 'm.location', body: 'Location', geo_uri: 'geo:52.52,13.4' });
    await eventually(() => said().length === 3, 20_000, 'location reply');
    expect(said()[2]).toBe("I can't use locations: send text, a file or a voice note for Claude.");
  }, 60_000);

  it('the HTTP API takes a voice note as an audio body: SSE `heard` first, then the answer', async () => {
    const post = (query: string) => fetch(`${t.gateway.httpUrl}/v1/conversations/dictated/messages${query}`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'audio/ogg' }, body: new Uint8Array(voiceNote()),
    });
    const sse = await (await post('?caption=from%20the%20API')).text();
    const events = [...sse.matchAll(/^event: (\w+)$/gm)].map((m) => m[1]);
    expect(events.indexOf('heard')).toBeGreaterThan(-1);
    expect(events.indexOf('heard')).toBeLessThan(events.indexOf('text'));
    expect(sse).toContain(`"text":"${SAID}"`);
    expect(anthropic.prompts().at(-1)).toBe(`from the API\n\n${SAID}`);
    const json = await (await post('?stream=false')).json();
    expect(json).toMatchObject({ status: 'done', text: `echo: ${SAID}` });
  }, 60_000);
});
