/**
 * The web chat: log in with an API key, list conversations of every channel, read one, send
 * messages to web conversations, and watch any running answer live (text and tool activity) through
 * the gateway's event stream. Bundled by esbuild into dist/web/app.js.
 */
import { Marked, type Tokens } from 'marked';
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import css from 'highlight.js/lib/languages/css';
import diff from 'highlight.js/lib/languages/diff';
import go from 'highlight.js/lib/languages/go';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import python from 'highlight.js/lib/languages/python';
import rust from 'highlight.js/lib/languages/rust';
import sql from 'highlight.js/lib/languages/sql';
import typescript from 'highlight.js/lib/languages/typescript';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import { showActivity, timeline, type ToolCall } from './activity.js';
import { FilesView } from './files.js';
import { showShared, TerminalView } from './terminal.js';

for (const [name, lang] of Object.entries({ bash, css, diff, go, javascript, json, python, rust, sql, typescript, xml, yaml })) hljs.registerLanguage(name, lang);
hljs.registerAliases(['sh', 'shell', 'zsh'], { languageName: 'bash' });
hljs.registerAliases(['js', 'jsx', 'mjs'], { languageName: 'javascript' });
hljs.registerAliases(['ts', 'tsx'], { languageName: 'typescript' });
hljs.registerAliases(['html', 'svg'], { languageName: 'xml' });
hljs.registerAliases(['py'], { languageName: 'python' });
hljs.registerAliases(['yml'], { languageName: 'yaml' });

interface Conversation {
  id: string;
  platform: string;
  last_text: string | null;
  session_cost: number;
  last_message_at: number | null;
}
interface TranscriptRow {
  role: 'user' | 'assistant' | 'notice';
  text: string;
  message_id: number | null;
}
interface JobEvent {
  type: string;
  conversationId: string;
  messageId: number;
  text?: string;
  summary?: string;
  status?: string;
  approval?: Approval;
  toolId?: string;
  tool?: string;
  isError?: boolean;
  durationMs?: number;
  result?: string;
}

/** A running answer as the page follows it. */
interface LiveJob {
  conversationId: string;
  text: string;
  status?: string;
  tools: ToolCall[];
}
/** One of Claude's requests (a tool to allow, a question, a plan), drawn from the card the gateway gives every platform. */
interface Approval {
  approval_id: number;
  conversation_id: string;
  message_id: number;
  kind: 'tool' | 'question' | 'plan';
  status: string;
  card: { markdown: string; actions: { id: string; label: string; style?: 'primary' | 'danger' }[][] };
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Images carried inside the answer itself (the content security policy allows `data:` images and no other host). */
const EMBEDDED_IMAGE = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$/i;

// Claude's text is untrusted: raw HTML is shown as text, links only with safe schemes.
const markdown = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    html: ({ text }: Tokens.HTML | Tokens.Tag) => escapeHtml(text),
    code: ({ text, lang }: Tokens.Code) => {
      const language = (lang ?? '').split(/\s/)[0]!;
      const body = language && hljs.getLanguage(language) ? hljs.highlight(text, { language }).value : escapeHtml(text);
      return `<pre><code class="hljs${language ? ` language-${escapeHtml(language)}` : ''}">${body}</code></pre>`;
    },
    link({ href, text }: Tokens.Link) {
      const safe = /^(https?:|mailto:|#|\/)/i.test(href) ? href : '#';
      return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text)}</a>`;
    },
    image: ({ href, text }: Tokens.Image) => {
      if (EMBEDDED_IMAGE.test(href)) return `<img src="${escapeHtml(href)}" alt="${escapeHtml(text)}">`;
      // Loading a URL from the answer would tell its host that (and when) the page was read: offer a link instead.
      const safe = /^https?:/i.test(href) ? href : '#';
      return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer">${escapeHtml(text || href)}</a>`;
    },
  },
});
const render = (md: string) => markdown.parse(md, { async: false }) as string;

let key = '';
let user = '';
let selected: string | undefined;
let conversations: Conversation[] = [];
const running = new Map<number, LiveJob>();
const approvals = new Map<number, Approval>();
const files = new FilesView(document.querySelector('main')!, () => key);
const terminal = new TerminalView(document.querySelector('main')!, () => key);

async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${key}`, 'content-type': 'application/json' } });
  if (res.status === 401) {
    logout('That key was refused.');
    throw new Error('unauthorized');
  }
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body as T;
}

function logout(message = ''): void {
  localStorage.removeItem('cligate.key');
  key = '';
  events?.abort();
  events = undefined;
  // Nothing of this session stays on the page for whoever logs in next.
  user = '';
  selected = undefined;
  approvals.clear();
  conversations = [];
  running.clear();
  files.reset();
  ($('search') as HTMLInputElement).value = '';
  $('conversations').classList.remove('hits');
  $('sessions').hidden = true;
  terminal.reset();
  $('conversations').replaceChildren();
  $('transcript').replaceChildren();
  $('title').textContent = 'Pick a conversation, or start a new chat.';
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
}

async function login(candidate: string): Promise<void> {
  key = candidate;
  try {
    await refreshList();
  } catch {
    return;
  }
  localStorage.setItem('cligate.key', key);
  $('login').hidden = true;
  $('app').hidden = false;
  // The key is kept in this browser's storage, not in a hidden field.
  ($('key') as HTMLInputElement).value = '';
  $('login-error').textContent = '';
  void followEvents();
  // Requests made before this page was open (the events only bring new ones).
  void api<{ data: Approval[] }>('/v1/approvals').then(({ data }) => data.forEach(showApproval)).catch(() => {});
}

async function refreshList(): Promise<void> {
  conversations = (await api<{ data: Conversation[] }>('/v1/conversations')).data;
  $('running').textContent = `${running.size} running`;
  // While a search is shown, the list waits.
  if (($('search') as HTMLInputElement).value.trim()) return;
  const list = $('conversations');
  list.replaceChildren(...conversations.map((c) => {
    const li = document.createElement('li');
    li.dataset.id = c.id;
    li.className = c.id === selected ? 'selected' : '';
    const busy = [...running.values()].some((r) => r.conversationId === c.id);
    li.innerHTML = `<div class="meta"><span class="badge${busy ? ' busy' : ''}">${escapeHtml(c.platform)}</span><span>$${c.session_cost.toFixed(4)}</span></div>
      <div class="name">${escapeHtml(c.id)}</div><div class="last">${escapeHtml((c.last_text ?? '').slice(0, 120))}</div>`;
    li.addEventListener('click', () => void open(c.id));
    return li;
  }));
}

async function open(id: string): Promise<void> {
  selected = id;
  const detail = await api<ConversationView>(`/v1/conversations/${encodeURIComponent(id)}`)
    .catch((): ConversationView => ({ transcript: [], session: undefined }));
  if (selected !== id) return;
  const session = detail.session ? ` · ${detail.session.turns} turn${detail.session.turns === 1 ? "" : "s"} · $${detail.session.cost_usd.toFixed(4)}` : "";
  $('title').textContent = `${id}${session}${automation(detail)}`;
  $('title').title = [
    ...(detail.schedules ?? []).map((s) => `⏰ #${s.id} ${s.name} (${s.status})`),
    ...(detail.webhooks ?? []).map((h) => `🪝 ${h.path} (${h.kind})`),
  ].join('\n');
  const box = $('transcript');
  box.replaceChildren(...detail.transcript.map(bubble));
  for (const [messageId, job] of running) if (job.conversationId === id) box.append(liveBubble(messageId, job));
  for (const approval of approvals.values()) {
    if (approval.conversation_id !== id) continue;
    // A decided request stays in view, saying who decided what, before the answer of its turn.
    const reply = approval.status === 'pending' ? undefined : box.querySelector(`.msg:not(.user)[data-message="${approval.message_id}"]`);
    box.insertBefore(approvalCard(approval), reply ?? null);
  }
  const writable = id.startsWith('http:');
  const composer = $('composer');
  composer.classList.toggle('readonly', !writable);
  ($('input') as HTMLTextAreaElement).disabled = !writable;
  ($('input') as HTMLTextAreaElement).placeholder = writable ? 'Message Claude… (Enter sends, Shift+Enter for a new line)' : `Read-only here: this conversation lives on ${id.split(':')[0]}.`;
  box.scrollTop = box.scrollHeight;
  files.show(id, box);
  void showActivity(id, box, key);
  showSessions(detail, writable);
  terminal.show(id);
  for (const li of document.querySelectorAll<HTMLLIElement>('#conversations li')) li.classList.toggle('selected', li.dataset.id === id);
}

interface SessionRow {
  id: number;
  engine: string;
  turns: number;
  cost_usd: number;
  last_used_at: number;
}

interface ConversationView {
  transcript: TranscriptRow[];
  session?: { id: number; turns: number; cost_usd: number };
  sessions?: SessionRow[];
  schedules?: { id: number; name: string; status: string }[];
  webhooks?: { path: string; kind: string }[];
}

/** " · 2 schedules · 1 webhook": what starts turns here on its own (listed in the header's tooltip). */
function automation(detail: ConversationView): string {
  const count = (n: number, word: string) => (n ? ` · ${n} ${word}${n === 1 ? '' : 's'}` : '');
  return count(detail.schedules?.length ?? 0, 'schedule') + count(detail.webhooks?.length ?? 0, 'webhook');
}

function bubble(row: TranscriptRow): HTMLElement {
  const div = document.createElement('div');
  div.className = `msg ${row.role}`;
  if (row.message_id !== null) div.dataset.message = String(row.message_id);
  if (row.role === 'user') div.textContent = row.text;
  else div.innerHTML = render(row.text);
  return div;
}

function liveBubble(messageId: number, job: LiveJob): HTMLElement {
  const div = document.createElement('div');
  div.className = 'msg assistant live';
  div.dataset.live = String(messageId);
  div.innerHTML = render(job.text || '') + (job.status ? `<div class="status">${escapeHtml(job.status)}</div>` : '') + (!job.text && !job.status ? '<div class="status">…</div>' : '');
  if (job.tools.length) div.prepend(timeline(messageId, job.tools));
  if (job.conversationId.startsWith('http:')) {
    const stop = document.createElement('button');
    stop.type = 'button';
    stop.className = 'stop';
    stop.textContent = 'Stop';
    stop.addEventListener('click', () => void stopAnswer(job.conversationId));
    div.append(stop);
  }
  return div;
}

/** The same as sending /stop: the running answer stops, queued messages are dropped. */
async function stopAnswer(conversationId: string): Promise<void> {
  await api(`/v1/conversations/${encodeURIComponent(conversationId)}/messages?stream=false`, { method: 'POST', body: JSON.stringify({ text: '/stop' }) }).catch(() => {});
}

function approvalCard(approval: Approval): HTMLElement {
  const div = document.createElement('div');
  div.className = `msg approval ${approval.status}`;
  div.dataset.approval = String(approval.approval_id);
  div.innerHTML = render(approval.card.markdown);
  // Deny (or Keep planning) can carry a reason Claude reads, as a reply does on a messenger.
  const reason = document.createElement('input');
  reason.className = 'reason';
  reason.placeholder = 'Reason or feedback (optional, sent with Deny / Keep planning)';
  if (approval.card.actions.length && approval.kind !== 'question') div.append(reason);
  for (const row of approval.card.actions) {
    const buttons = document.createElement('div');
    buttons.className = 'actions';
    for (const action of row) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = action.label;
      if (action.style) button.className = action.style;
      button.addEventListener('click', () => void decide(approval, action.id, div, reason.value.trim()));
      buttons.append(button);
    }
    div.append(buttons);
  }
  return div;
}

async function decide(approval: Approval, action: string, card: HTMLElement, message: string): Promise<void> {
  for (const b of card.querySelectorAll('button')) b.disabled = true;
  try {
    const result = await api<{ approval: Approval }>(`/v1/conversations/${encodeURIComponent(approval.conversation_id)}/approvals/${approval.approval_id}`, { method: 'POST', body: JSON.stringify({ action, ...(message ? { message } : {}) }) });
    showApproval(result.approval);
  } catch (err) {
    for (const b of card.querySelectorAll('button')) b.disabled = false;
    const note = card.querySelector('.error') ?? card.appendChild(Object.assign(document.createElement('p'), { className: 'error' }));
    note.textContent = (err as Error).message;
  }
}

function showApproval(approval: Approval): void {
  approvals.set(approval.approval_id, approval);
  if (approval.conversation_id !== selected) return;
  const box = $('transcript');
  const existing = box.querySelector(`[data-approval="${approval.approval_id}"]`);
  const fresh = approvalCard(approval);
  if (existing) existing.replaceWith(fresh);
  else box.append(fresh);
  box.scrollTop = box.scrollHeight;
}

function onEvent(event: JobEvent): void {
  if (event.type === 'approval' || event.type === 'approval_update') {
    if (event.approval) showApproval(event.approval);
    return;
  }
  if (event.type === 'heard') {
    // What the gateway heard in a voice note, before the answer: shown so that a wrong hearing is caught.
    if (event.conversationId === selected) $('transcript').append(bubble({ role: 'notice', text: `heard: ${event.text ?? ''}`, message_id: null }));
    return;
  }
  let job = running.get(event.messageId);
  if (event.type === 'finished') {
    running.delete(event.messageId);
    if (event.conversationId === selected) void open(selected);
    void refreshList();
    return;
  }
  if (!job) {
    job = { conversationId: event.conversationId, text: '', tools: [] };
    running.set(event.messageId, job);
    void refreshList();
  }
  if (event.type === 'started') job.text = '';
  if (event.type === 'text') job.text += event.text ?? '';
  if (event.type === 'tool') {
    job.status = `⚙ ${event.summary}`;
    job.tools.push({ toolId: event.toolId ?? '', tool: event.tool ?? 'tool', summary: event.summary ?? '' });
  }
  if (event.type === 'tool_done') {
    const call = job.tools.find((c) => c.toolId === event.toolId);
    if (call) Object.assign(call, { result: event.result, isError: event.isError, durationMs: event.durationMs ?? null });
  }
  if (event.type === 'status') job.status = event.text;
  if (event.conversationId !== selected) return;
  const box = $('transcript');
  const existing = box.querySelector(`[data-live="${event.messageId}"]`);
  const fresh = liveBubble(event.messageId, job);
  if (existing) existing.replaceWith(fresh);
  else box.append(fresh);
  box.scrollTop = box.scrollHeight;
}

/** The open event stream, aborted at log-out so that it stops with the key it was opened with. */
let events: AbortController | undefined;

/** The gateway's event stream (fetch, since EventSource cannot send the key), reconnecting on loss. */
async function followEvents(): Promise<void> {
  events?.abort();
  const controller = (events = new AbortController());
  // The last event seen: a reconnect asks for what came after it, so nothing is missed or shown twice.
  let lastEventId: string | undefined;
  while (key && !controller.signal.aborted) {
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
      const res = await fetch('/v1/events', { headers, signal: controller.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          const id = /^id: (.*)$/m.exec(block)?.[1];
          if (id) lastEventId = id;
          if (!type || !data || type === 'ping') continue;
          if (type === 'ready' || type === 'reset') {
            // Where to pick up from next time; after a reset (what was missed is gone), reload what is shown.
            lastEventId = JSON.parse(data).lastEventId;
            if (type === 'reset') resync();
            continue;
          }
          onEvent({ type, ...JSON.parse(data) });
        }
      }
    } catch {
      /* reconnect below */
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Forgets live answers and reloads the list and the open conversation. */
function resync(): void {
  running.clear();
  void refreshList();
  if (selected) void open(selected);
}

/** The conversation's sessions, across engines, with turns and cost; in a web conversation, switch or start one. */
function showSessions(detail: ConversationView, writable: boolean): void {
  const panel = $('sessions') as HTMLDetailsElement;
  const sessions = detail.sessions ?? [];
  panel.hidden = !sessions.length && !writable;
  panel.querySelector('summary')!.textContent = `Sessions (${sessions.length})`;
  const rows = sessions.map((s) => {
    const li = document.createElement('li');
    const active = s.id === detail.session?.id;
    li.className = active ? 'active' : '';
    li.textContent = `${active ? '▶' : '•'} #${s.id} ${s.engine} · ${s.turns} turn${s.turns === 1 ? '' : 's'} · $${s.cost_usd.toFixed(4)} · ${new Date(s.last_used_at).toLocaleString()}`;
    if (writable && !active) li.append(commandButton('Use', `/session use ${s.id}`));
    return li;
  });
  const list = panel.querySelector('ul')!;
  list.replaceChildren(...rows);
  if (writable) {
    const li = document.createElement('li');
    li.append(commandButton('New session', '/new'));
    list.append(li);
  }
}

function commandButton(label: string, command: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'link';
  button.textContent = label;
  button.addEventListener('click', () => void send(command));
  return button;
}

/** Transcript lines matching the search box, in place of the conversation list; a click opens one. */
async function search(query: string): Promise<void> {
  if (!query) return refreshList();
  const { data } = await api<{ data: { conversation_id: string; snippet: string; role: string }[] }>(`/v1/search?q=${encodeURIComponent(query)}`);
  if (($('search') as HTMLInputElement).value.trim() !== query) return;
  const list = $('conversations');
  list.classList.add('hits');
  list.replaceChildren(...(data.length ? data.map((hit) => {
    const li = document.createElement('li');
    li.dataset.id = hit.conversation_id;
    // The snippet marks the words in [brackets]: escaped first, then marked.
    const snippet = escapeHtml(hit.snippet).replace(/\[([^\]]*)\]/g, '<mark>$1</mark>');
    li.innerHTML = `<div class="name">${escapeHtml(hit.conversation_id)}</div><div class="snippet">${snippet}</div>`;
    li.addEventListener('click', () => void open(hit.conversation_id));
    return li;
  }) : [Object.assign(document.createElement('li'), { textContent: 'Nothing found.' })]));
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
$('search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  const query = ($('search') as HTMLInputElement).value.trim();
  if (!query) $('conversations').classList.remove('hits');
  searchTimer = setTimeout(() => void search(query).catch(() => {}), 200);
});

async function send(text: string): Promise<void> {
  if (!selected?.startsWith('http:')) return;
  const box = $('transcript');
  box.append(bubble({ role: 'user', text, message_id: null }));
  box.scrollTop = box.scrollHeight;
  try {
    // The answer streams in through the event stream; this request returns once it is complete.
    const answer = await api<{ status: string; text: string; conversation_id: string; message_id?: number }>(`/v1/conversations/${encodeURIComponent(selected)}/messages?stream=false`, { method: 'POST', body: JSON.stringify({ text }) });
    // A reply to a message that was not stored (an answer to a request, a refusal) comes with no events: show it here.
    if (answer.status === 'handled' && answer.message_id === undefined && answer.conversation_id === selected) box.append(bubble({ role: 'notice', text: answer.text, message_id: null }));
  } catch (err) {
    box.append(bubble({ role: 'notice', text: `⚠️ ${(err as Error).message}`, message_id: null }));
  }
}

/**
 * The microphone: a click records (MediaRecorder), a second click sends. The recording is decoded
 * here to a 16 kHz mono WAV, which the gateway reads without ffmpeg whatever the browser recorded.
 */
let recorder: MediaRecorder | undefined;
$('mic').addEventListener('click', () => void toggleRecording());

async function toggleRecording(): Promise<void> {
  const button = $('mic') as HTMLButtonElement;
  if (recorder) {
    recorder.stop();
    return;
  }
  if (!selected?.startsWith('http:')) return;
  let stream: MediaStream;
  try {
    // The speech as spoken: echo cancellation and automatic gain reshape it, and hurt recognition.
    stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: false, autoGainControl: false, noiseSuppression: false, channelCount: 1 } });
  } catch (err) {
    $('transcript').append(bubble({ role: 'notice', text: `⚠️ The microphone could not be opened: ${(err as Error).message}`, message_id: null }));
    return;
  }
  const chunks: Blob[] = [];
  const rec = (recorder = new MediaRecorder(stream));
  rec.ondataavailable = (e) => chunks.push(e.data);
  rec.onstop = () => {
    for (const track of stream.getTracks()) track.stop();
    recorder = undefined;
    button.classList.remove('recording');
    button.textContent = '🎤';
    void sendVoice(new Blob(chunks, { type: rec.mimeType }));
  };
  rec.start();
  button.classList.add('recording');
  button.textContent = '■';
}

async function sendVoice(recording: Blob): Promise<void> {
  const box = $('transcript');
  try {
    const context = new AudioContext({ sampleRate: 16_000 });
    const audio = await context.decodeAudioData(await recording.arrayBuffer());
    await context.close();
    box.append(bubble({ role: 'user', text: `🎤 voice note, ${audio.duration.toFixed(1)} s`, message_id: null }));
    box.scrollTop = box.scrollHeight;
    const res = await fetch(`/v1/conversations/${encodeURIComponent(selected!)}/messages?stream=false`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'audio/wav' }, body: wavOf(audio),
    });
    const answer = await res.json();
    if (!res.ok) throw new Error(answer?.error?.message ?? `HTTP ${res.status}`);
  } catch (err) {
    box.append(bubble({ role: 'notice', text: `⚠️ The voice note was not sent: ${(err as Error).message}`, message_id: null }));
  }
}

/** 16-bit PCM WAV of the first channel, at the buffer's own rate (16 kHz here). */
function wavOf(audio: AudioBuffer): ArrayBuffer {
  const samples = audio.getChannelData(0);
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at: number, s: string) => [...s].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  text(0, 'RIFF');
  view.setUint32(4, 36 + samples.length * 2, true);
  text(8, 'WAVEfmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  text(36, 'data');
  view.setUint32(40, samples.length * 2, true);
  samples.forEach((x, i) => view.setInt16(44 + i * 2, Math.max(-1, Math.min(1, x)) * 32767, true));
  return view.buffer;
}

$('login').addEventListener('submit', (e) => {
  e.preventDefault();
  void login(($('key') as HTMLInputElement).value.trim());
});
$('logout').addEventListener('click', () => logout());
$('new-chat').addEventListener('click', () => {
  const name = `chat-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
  const li = document.createElement('li');
  void (async () => {
    selected = `http:${await whoami()}:${name}`;
    li.remove();
    await open(selected);
    ($('input') as HTMLTextAreaElement).focus();
  })();
});
$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const input = $('input') as HTMLTextAreaElement;
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  void send(text);
});
$('input').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    $('composer').dispatchEvent(new Event('submit', { cancelable: true }));
  }
});

async function whoami(): Promise<string> {
  if (!user) user = (await api<{ user: string }>('/v1/me')).user;
  return user;
}

const fromHash = /(?:^#|&)key=([^&]+)/.exec(location.hash)?.[1];
if (fromHash) history.replaceState(null, '', location.pathname);
const saved = fromHash ? decodeURIComponent(fromHash) : localStorage.getItem('cligate.key');
// A share link (#share=<token>) opens only the shared terminal, with no key.
const shareToken = /(?:^#|&)share=([^&]+)/.exec(location.hash)?.[1];
if (shareToken) showShared(decodeURIComponent(shareToken), document.body);
else if (saved) void login(saved).then(() => {
  if (!key) $('login').hidden = false;
});
else $('login').hidden = false;
