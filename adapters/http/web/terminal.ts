/**
 * The web app's Terminal panel: the open conversation's terminal tabs (shell, Claude, Codex) drawn by
 * xterm.js, each over its own WebSocket (adapters/http/terminal.ts). A tab lives on the server: closing
 * the panel or the page only detaches, and opening it again replays its scrollback. The panel's size
 * follows its element (fit add-on); typing, paste and Ctrl-C go to the tab as the terminal's input.
 */
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

type Kind = 'shell' | 'claude' | 'codex';
interface TabInfo {
  id: string;
  kind: Kind;
  owner: string;
  viewers: number;
}
interface Participant {
  id: string;
  name: string;
  mode: 'view' | 'write';
  typing?: boolean;
}

const LABELS: Record<Kind, string> = { shell: 'Shell', claude: 'Claude', codex: 'Codex' };

const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const node = Object.assign(document.createElement(tag), props) as HTMLElementTagNameMap[K];
  node.append(...children);
  return node;
};

/** One tab on screen: its terminal, its socket (reconnected while the tab lives), its participants. */
class TabView {
  readonly term = new Terminal({ cursorBlink: true, fontSize: 13, scrollback: 5000, fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace' });
  private readonly fit = new FitAddon();
  private socket?: WebSocket;
  private ended = false;
  private observer: ResizeObserver;
  participants: Participant[] = [];
  you?: Participant;

  constructor(readonly info: TabInfo, readonly host: HTMLElement, private readonly ticket: () => Promise<{ url: string }>, private readonly changed: () => void) {
    this.term.loadAddon(this.fit);
    this.term.open(host);
    this.term.onData((data) => this.send({ type: 'input', data }));
    this.term.onResize(({ cols, rows }) => this.send({ type: 'resize', cols, rows }));
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(host);
    void this.connect();
  }

  resize(): void {
    if (this.host.offsetParent !== null && this.host.clientWidth > 0) this.fit.fit();
  }

  private send(message: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private async connect(): Promise<void> {
    let url: string;
    try {
      url = (await this.ticket()).url;
    } catch (err) {
      this.term.write(`\r\n\x1b[31m[${(err as Error).message}]\x1b[0m\r\n`);
      this.ended = true;
      return;
    }
    const socket = (this.socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${url}`));
    socket.binaryType = 'arraybuffer';
    let first = true;
    socket.onopen = () => this.send({ type: 'resize', cols: this.term.cols, rows: this.term.rows });
    socket.onmessage = (event) => {
      if (typeof event.data !== 'string') {
        // The first output of a (re)attached socket is the tab's scrollback: start from a clean screen.
        if (first) this.term.reset();
        first = false;
        this.term.write(new Uint8Array(event.data as ArrayBuffer));
        return;
      }
      const message = JSON.parse(event.data);
      if (message.type === 'hello') {
        this.you = message.you;
      } else if (message.type === 'participants') {
        this.participants = message.participants;
        this.changed();
      } else if (message.type === 'exit') {
        this.end(message.reason);
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket || this.ended || event.code === 1000 || event.code === 4003) {
        if (event.code === 4003) this.end('removed from this tab');
        return;
      }
      setTimeout(() => void this.connect(), 1000);
    };
  }

  get isEnded(): boolean {
    return this.ended;
  }

  /**
   * The tab is over: why, on a line of its own below whatever the program drew (a TUI leaves its
   * cursor mid-screen), no blinking cursor inviting input, and the tab bar told.
   */
  private end(reason: string): void {
    this.ended = true;
    this.term.options.disableStdin = true;
    this.term.options.cursorBlink = false;
    this.term.write(`\x1b[0m\x1b[?25l\x1b[${this.term.rows};1H\r\n\x1b[2K\x1b[33m[${reason}]\x1b[0m`);
    this.changed();
  }

  dispose(): void {
    this.ended = true;
    this.observer.disconnect();
    this.socket?.close(1000);
    this.term.dispose();
    this.host.remove();
  }
}

export class TerminalView {
  private conversationId?: string;
  private readonly toggle: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly tabBar: HTMLElement;
  private readonly adders: HTMLElement;
  private readonly who: HTMLElement;
  private readonly screens: HTMLElement;
  private readonly error: HTMLElement;
  private readonly views = new Map<string, TabView>();
  private readonly shareMode: HTMLSelectElement;
  private readonly shareLine: HTMLElement;
  private active?: string;

  constructor(main: HTMLElement, private readonly key: () => string) {
    this.toggle = el('button', { type: 'button', className: 'term-toggle', id: 'term-toggle', textContent: 'Terminal', title: 'Shell, Claude and Codex in this conversation\'s workspace', hidden: true });
    this.toggle.addEventListener('click', () => (this.panel.hidden ? void this.openPanel() : this.close()));
    const close = el('button', { type: 'button', className: 'files-close', textContent: '×', title: 'Hide (tabs keep running)' });
    close.setAttribute('aria-label', 'Hide the terminal');
    close.addEventListener('click', () => this.close());
    this.shareMode = el('select', { id: 'term-share-mode', title: 'What the link lets its holder do' },
      el('option', { value: 'view', textContent: 'view only' }), el('option', { value: 'write', textContent: 'can type' }));
    const share = el('button', { type: 'button', id: 'term-share', textContent: 'Share', title: 'Make a link to this tab (1 hour)' });
    share.addEventListener('click', () => void this.share());
    this.shareLine = el('div', { className: 'term-share-line', id: 'term-share-line', hidden: true });
    const closeTab = el('button', { type: 'button', id: 'term-close-tab', textContent: 'Close tab', title: 'End this tab (its processes are stopped)' });
    closeTab.addEventListener('click', () => void this.closeTab());
    this.tabBar = el('div', { className: 'term-tabs', id: 'term-tabs' });
    this.tabBar.setAttribute('role', 'tablist');
    this.adders = el('div', { className: 'term-adders' });
    this.who = el('span', { className: 'term-who', id: 'term-who' });
    this.error = el('p', { className: 'error files-error', id: 'term-error' });
    this.error.setAttribute('role', 'alert');
    this.screens = el('div', { className: 'term-screens', id: 'term-screens' });
    this.panel = el('section', { className: 'term-panel', id: 'terminal', hidden: true },
      el('header', {}, el('strong', { textContent: 'Terminal' }), this.tabBar, this.adders, this.who, this.shareMode, share, closeTab, close), this.shareLine, this.error, this.screens);
    this.panel.setAttribute('aria-label', 'Terminal');
    main.append(this.toggle, this.panel);
  }

  /** A conversation was opened: its tabs, when the panel is open. */
  show(conversationId: string): void {
    if (conversationId === this.conversationId) return;
    this.reset();
    this.conversationId = conversationId;
    this.toggle.hidden = false;
  }

  reset(): void {
    this.close();
    for (const view of this.views.values()) view.dispose();
    this.views.clear();
    this.active = undefined;
    this.conversationId = undefined;
    this.toggle.hidden = true;
    this.tabBar.replaceChildren();
    this.error.textContent = '';
  }

  private base(): string {
    return `/v1/conversations/${encodeURIComponent(this.conversationId!)}/terminals`;
  }

  private async request<T>(path: string, init: RequestInit = {}): Promise<T> {
    const res = await fetch(path, { ...init, headers: { authorization: `Bearer ${this.key()}`, 'content-type': 'application/json' } });
    if (res.status === 204) return undefined as T;
    const body = await res.json().catch(() => undefined);
    if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    return body as T;
  }

  private async openPanel(): Promise<void> {
    this.panel.hidden = false;
    this.toggle.classList.add('active');
    this.error.textContent = '';
    try {
      const { data, kinds } = await this.request<{ data: TabInfo[]; kinds: Kind[] }>(this.base());
      this.adders.replaceChildren(...kinds.map((kind) => {
        const button = el('button', { type: 'button', textContent: `+ ${LABELS[kind]}`, className: `term-add-${kind}` });
        button.dataset.kind = kind;
        button.addEventListener('click', () => void this.add(kind));
        return button;
      }));
      for (const info of data) if (!this.views.has(info.id)) this.attach(info);
      if (!this.active && data[0]) this.select(data[0].id);
      this.drawTabs();
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private close(): void {
    this.panel.hidden = true;
    this.toggle.classList.remove('active');
  }

  private async add(kind: Kind): Promise<void> {
    this.error.textContent = '';
    try {
      const info = await this.request<TabInfo>(this.base(), { method: 'POST', body: JSON.stringify({ kind, cols: 100, rows: 30 }) });
      this.attach(info);
      this.select(info.id);
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private attach(info: TabInfo): void {
    const host = el('div', { className: 'term-screen', hidden: true });
    host.dataset.tab = info.id;
    host.dataset.kind = info.kind;
    this.screens.append(host);
    const base = this.base();
    this.views.set(info.id, new TabView(info, host, () => this.request(`${base}/${info.id}/ticket`, { method: 'POST', body: '{}' }), () => this.drawTabs()));
  }

  private select(id: string): void {
    this.active = id;
    for (const [tabId, view] of this.views) view.host.hidden = tabId !== id;
    const view = this.views.get(id);
    if (view) {
      view.resize();
      view.term.focus();
    }
    this.drawTabs();
  }

  private async closeTab(): Promise<void> {
    const id = this.active;
    if (!id) return;
    await this.request(`${this.base()}/${id}`, { method: 'DELETE' }).catch((err) => (this.error.textContent = (err as Error).message));
    this.views.get(id)?.dispose();
    this.views.delete(id);
    this.active = undefined;
    const next = [...this.views.keys()][0];
    if (next) this.select(next);
    else this.drawTabs();
  }

  /** Makes a link to the active tab and shows it, with a button that revokes it. */
  private async share(): Promise<void> {
    if (!this.active) return;
    this.error.textContent = '';
    try {
      const conversation = encodeURIComponent(this.conversationId!);
      const made = await this.request<{ id: number; link: string; mode: string }>(`/v1/conversations/${conversation}/shares`, {
        method: 'POST', body: JSON.stringify({ tab: this.active, mode: this.shareMode.value, expires_in_s: 3600 }),
      });
      const link = el('input', { readOnly: true, value: `${location.origin}${made.link}`, className: 'term-share-link', id: 'term-share-link' });
      const revoke = el('button', { type: 'button', textContent: 'Revoke', id: 'term-share-revoke' });
      revoke.addEventListener('click', () => void this.request(`/v1/conversations/${conversation}/shares/${made.id}`, { method: 'DELETE' })
        .then(() => (this.shareLine.hidden = true), (err) => (this.error.textContent = (err as Error).message)));
      this.shareLine.replaceChildren(el('span', { textContent: `Link (${made.mode === 'write' ? 'can type' : 'view only'}, 1 hour):` }), link, revoke);
      this.shareLine.hidden = false;
      link.select();
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private drawTabs(): void {
    this.tabBar.replaceChildren(...[...this.views.values()].map((view, i) => {
      const label = `${LABELS[view.info.kind]} ${i + 1}${view.isEnded ? ' (ended)' : ''}`;
      const button = el('button', { type: 'button', textContent: label, className: view.info.id === this.active ? 'selected' : '' });
      button.setAttribute('role', 'tab');
      button.addEventListener('click', () => this.select(view.info.id));
      return button;
    }));
    const view = this.active ? this.views.get(this.active) : undefined;
    drawParticipants(this.who, view, view?.you?.name === view?.info.owner ? (id) => {
      void this.request(`${this.base()}/${view!.info.id}/participants/${id}`, { method: 'DELETE' }).catch((err) => (this.error.textContent = (err as Error).message));
    } : undefined);
  }
}

/** "Here: ann (view) ×, boss ✎": who is attached to the tab; `remove` (the owner's) puts a × by the others. */
function drawParticipants(box: HTMLElement, view: TabView | undefined, remove?: (id: string) => void): void {
  const people = view?.participants ?? [];
  box.replaceChildren(...(people.length ? ['Here: '] : []), ...people.flatMap((p, i) => {
    const item = el('span', { className: 'term-person', textContent: `${p.name}${p.mode === 'view' ? ' (view)' : ''}${p.typing ? ' ✎' : ''}` });
    item.dataset.mode = p.mode;
    if (remove && p.id !== view?.you?.id) {
      const x = el('button', { type: 'button', className: 'term-remove', textContent: '×', title: `Remove ${p.name}` });
      x.addEventListener('click', () => remove(p.id));
      item.append(x);
    }
    return i ? [', ', item] : [item];
  }));
}

/**
 * The page a share link opens (`/#share=<token>`): no API key, only the tabs the link reaches, typing
 * only where it lets its holder type. The holder gives a name, which the others see.
 */
export function showShared(token: string, root: HTMLElement): void {
  const headers = { 'x-share-token': token, 'content-type': 'application/json' };
  const name = el('input', { id: 'share-name', placeholder: 'Your name', value: localStorage.getItem('cligate.share-name') ?? '', maxLength: 32 });
  const join = el('button', { type: 'submit', textContent: 'Join' });
  const error = el('p', { className: 'error', id: 'share-error' });
  const form = el('form', { className: 'login', id: 'share-join' }, el('h1', { textContent: 'Shared terminal' }), name, join, error);
  const tabs = el('div', { className: 'term-tabs' });
  const who = el('span', { className: 'term-who', id: 'share-who' });
  const screens = el('div', { className: 'term-screens' });
  const title = el('strong', { textContent: 'Terminal' });
  const panel = el('section', { className: 'term-panel term-shared', id: 'shared-terminal', hidden: true }, el('header', {}, title, tabs, who), screens);
  root.append(form, panel);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    localStorage.setItem('cligate.share-name', name.value);
    const res = await fetch('/share/terminals', { headers });
    const body = await res.json();
    if (!res.ok) {
      error.textContent = body?.error?.message ?? `HTTP ${res.status}`;
      return;
    }
    form.hidden = true;
    panel.hidden = false;
    title.textContent = `${body.conversation_id}`;
    const views: TabView[] = [];
    const select = (view: TabView) => {
      for (const v of views) v.host.hidden = v !== view;
      view.resize();
      view.term.focus();
      drawParticipants(who, view);
      tabs.replaceChildren(...views.map((v, i) => el('button', { type: 'button', textContent: `${LABELS[v.info.kind]} ${i + 1}`, className: v === view ? 'selected' : '', onclick: () => select(v) })));
    };
    for (const info of body.data as TabInfo[]) {
      const host = el('div', { className: 'term-screen', hidden: true });
      screens.append(host);
      const view: TabView = new TabView(info, host, async () => {
        const r = await fetch(`/share/terminals/${info.id}/ticket`, { method: 'POST', headers, body: JSON.stringify({ name: name.value }) });
        const b = await r.json();
        if (!r.ok) throw new Error(b?.error?.message ?? `HTTP ${r.status}`);
        return b;
      }, () => drawParticipants(who, view));
      views.push(view);
    }
    if (views[0]) select(views[0]);
    else who.textContent = 'No terminal is open in this conversation now.';
  });
}
