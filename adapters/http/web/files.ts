/**
 * The web chat's Files: the open conversation's workspace as a tree (each folder loaded when opened),
 * a preview of a file (highlighted text, images, large files cut with a Download button), download,
 * upload into the chosen folder, and under each answer that changed files a collapsed "N files changed"
 * list that shows each file's unified diff. It reads the API of adapters/http/files.ts with the key.
 */
import hljs from 'highlight.js/lib/core';

interface Entry {
  name: string;
  path: string;
  type: 'dir' | 'file' | 'link' | 'other';
  size: number;
  mtime: number;
}
interface Listing {
  path: string;
  entries: Entry[];
  truncated: boolean;
  total: number;
}
interface Preview {
  path: string;
  name: string;
  size: number;
  binary: boolean;
  truncated: boolean;
  text?: string;
  image?: string;
}
interface Change {
  path: string;
  change: 'added' | 'modified' | 'deleted';
  diff: string | null;
  note?: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** An element with properties (`textContent`, never `innerHTML`) and children. */
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] => {
  const node = Object.assign(document.createElement(tag), props) as HTMLElementTagNameMap[K];
  node.append(...children);
  return node;
};

export function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** Highlighted HTML of a text, in the language its file name says (plain when unknown). */
function highlighted(text: string, language: string | undefined): string {
  return language && hljs.getLanguage(language) ? hljs.highlight(text, { language, ignoreIllegals: true }).value : escapeHtml(text);
}

function languageOf(file: string): string | undefined {
  const name = file.split('/').pop()!.toLowerCase();
  if (name === 'dockerfile') return 'bash';
  const ext = /\.([a-z0-9]+)$/.exec(name)?.[1];
  return ext && hljs.getLanguage(ext) ? ext : undefined;
}

export class FilesView {
  private conversationId?: string;
  private readonly toggle: HTMLButtonElement;
  private readonly panel: HTMLElement;
  private readonly tree: HTMLUListElement;
  private readonly preview: HTMLElement;
  private readonly error: HTMLElement;
  private readonly where: HTMLElement;
  private readonly input: HTMLInputElement;
  private readonly uploadButton: HTMLButtonElement;
  /** Folders shown open, kept across refreshes. */
  private readonly expanded = new Set<string>();
  /** Where an upload goes: the folder last chosen ("" is the top). */
  private folder = '';
  private previewing?: string;
  private urls: string[] = [];

  constructor(main: HTMLElement, private readonly key: () => string) {
    this.toggle = el('button', { type: 'button', className: 'files-toggle', id: 'files-toggle', textContent: 'Files', title: 'The conversation\'s workspace', hidden: true });
    this.toggle.addEventListener('click', () => (this.panel.hidden ? this.openPanel() : this.close()));
    this.input = el('input', { type: 'file', id: 'files-input', multiple: true, hidden: true });
    this.input.addEventListener('change', () => void this.upload([...(this.input.files ?? [])]));
    const uploadButton = (this.uploadButton = el('button', { type: 'button', id: 'files-upload', textContent: 'Upload' }));
    uploadButton.addEventListener('click', () => this.input.click());
    const close = el('button', { type: 'button', className: 'files-close', textContent: '×', title: 'Close' });
    close.setAttribute('aria-label', 'Close files');
    close.addEventListener('click', () => this.close());
    this.where = el('span', { className: 'files-where' });
    this.tree = el('ul', { className: 'files-tree', id: 'files-tree' });
    this.tree.setAttribute('aria-label', 'Workspace files');
    this.preview = el('section', { className: 'files-preview', id: 'files-preview', hidden: true });
    this.error = el('p', { className: 'error files-error' });
    this.error.setAttribute('role', 'alert');
    // A section, not an aside: the page's `aside` rules are the conversation list's.
    this.panel = el('section', { className: 'files-panel', id: 'files', hidden: true },
      el('header', {}, el('strong', { textContent: 'Files' }), this.where, uploadButton, this.input, close),
      this.error, this.tree, this.preview);
    this.panel.setAttribute('aria-label', 'Files');
    main.append(this.toggle, this.panel);
  }

  /** A conversation was opened (or its transcript redrawn): its Files, and what its answers changed. */
  show(conversationId: string, transcript: HTMLElement): void {
    if (conversationId !== this.conversationId) {
      this.conversationId = conversationId;
      this.expanded.clear();
      this.folder = '';
      this.close();
    } else if (!this.panel.hidden) {
      void this.refresh();
    }
    this.toggle.hidden = false;
    // Other channels' conversations are read-only here (the API says so too, for others' web ones).
    this.uploadButton.hidden = !conversationId.startsWith('http:');
    void this.decorate(conversationId, transcript);
  }

  /** Logged out: nothing of the last conversation stays. */
  reset(): void {
    this.conversationId = undefined;
    this.toggle.hidden = true;
    this.close();
    this.tree.replaceChildren();
    this.error.textContent = '';
  }

  private base(): string {
    return `/v1/conversations/${encodeURIComponent(this.conversationId!)}`;
  }

  private async request(path: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${this.key()}` } });
    if (!res.ok) {
      const body = await res.json().catch(() => undefined);
      throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
    }
    return res;
  }

  private async json<T>(path: string): Promise<T> {
    return (await this.request(path)).json() as Promise<T>;
  }

  private openPanel(): void {
    this.panel.hidden = false;
    this.toggle.classList.add('active');
    void this.refresh();
  }

  private close(): void {
    this.panel.hidden = true;
    this.toggle.classList.remove('active');
    this.preview.hidden = true;
    this.previewing = undefined;
    this.releaseUrls();
  }

  private releaseUrls(): void {
    for (const url of this.urls.splice(0)) URL.revokeObjectURL(url);
  }

  /** Redraws the tree from the top, opening again the folders that were open. */
  private async refresh(): Promise<void> {
    const id = this.conversationId;
    this.where.textContent = this.folder ? `upload to ${this.folder}/` : '';
    const fresh = el('ul');
    try {
      await this.fill(fresh, '');
      if (id !== this.conversationId) return;
      this.error.textContent = '';
      this.tree.replaceChildren(...fresh.childNodes);
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private async fill(list: HTMLUListElement, dir: string): Promise<void> {
    const listing = await this.json<Listing>(`${this.base()}/files?path=${encodeURIComponent(dir)}`);
    const items = await Promise.all(listing.entries.map((entry) => this.item(entry)));
    if (!items.length && !dir) items.push(el('li', { className: 'files-note', textContent: 'Nothing here yet. Files Claude writes, and files you upload, show up here.' }));
    if (listing.truncated) items.push(el('li', { className: 'files-note', textContent: `${listing.total - listing.entries.length} more not listed.` }));
    list.replaceChildren(...items);
  }

  private async item(entry: Entry): Promise<HTMLLIElement> {
    const li = el('li', { className: `files-entry ${entry.type}` });
    li.dataset.path = entry.path;
    li.dataset.type = entry.type;
    const row = el('button', { type: 'button', className: 'files-row' },
      el('span', { className: 'icon', textContent: entry.type === 'dir' ? '▸' : entry.type === 'link' ? '↪' : '·' }),
      el('span', { className: 'name', textContent: entry.name }),
      el('span', { className: 'size', textContent: entry.type === 'file' ? size(entry.size) : '' }));
    li.append(row);
    if (entry.type === 'dir') {
      row.setAttribute('aria-expanded', 'false');
      const children = el('ul', { className: 'files-children' });
      li.append(children);
      const setOpen = async (open: boolean) => {
        row.setAttribute('aria-expanded', String(open));
        row.querySelector('.icon')!.textContent = open ? '▾' : '▸';
        children.hidden = !open;
        if (open) {
          this.expanded.add(entry.path);
          await this.fill(children, entry.path);
        } else {
          this.expanded.delete(entry.path);
        }
      };
      row.addEventListener('click', () => {
        this.folder = entry.path;
        this.where.textContent = `upload to ${entry.path}/`;
        void setOpen(row.getAttribute('aria-expanded') !== 'true').catch((err) => (this.error.textContent = (err as Error).message));
      });
      if (this.expanded.has(entry.path)) await setOpen(true).catch(() => this.expanded.delete(entry.path));
      else children.hidden = true;
    } else if (entry.type === 'file') {
      row.addEventListener('click', () => void this.open(entry.path));
    } else {
      row.disabled = true;
      row.title = entry.type === 'link' ? 'A link that leads outside the workspace' : 'Not a regular file';
    }
    return li;
  }

  /** Shows a file in the preview pane. */
  async open(file: string): Promise<void> {
    this.previewing = file;
    this.releaseUrls();
    for (const row of this.tree.querySelectorAll('.files-entry.selected')) row.classList.remove('selected');
    this.tree.querySelector(`.files-entry[data-path="${CSS.escape(file)}"]`)?.classList.add('selected');
    this.preview.hidden = false;
    this.preview.replaceChildren(el('p', { className: 'files-note', textContent: 'Loading…' }));
    try {
      const file_ = await this.json<Preview>(`${this.base()}/files/content?path=${encodeURIComponent(file)}`);
      if (this.previewing !== file) return;
      const download = el('button', { type: 'button', className: 'files-download', textContent: 'Download' });
      download.addEventListener('click', () => void this.download(file_.path, file_.name));
      const head = el('header', {}, el('span', { className: 'path', textContent: file_.path }), el('span', { className: 'size', textContent: size(file_.size) }), download);
      const body: HTMLElement[] = [];
      if (file_.image) {
        const blob = await (await this.request(`${this.base()}/files/raw?path=${encodeURIComponent(file)}`)).blob();
        const url = URL.createObjectURL(blob);
        this.urls.push(url);
        body.push(el('img', { src: url, alt: file_.name, className: 'files-image' }));
      } else if (file_.binary) {
        body.push(el('p', { className: 'files-note', textContent: `A binary file (${size(file_.size)}): download it to open it.` }));
      } else {
        const code = el('code', { className: `hljs${languageOf(file) ? ` language-${languageOf(file)}` : ''}` });
        code.innerHTML = highlighted(file_.text ?? '', languageOf(file));
        if (file_.truncated) body.push(el('p', { className: 'files-note files-cut', textContent: `Showing the first ${size(new Blob([file_.text ?? '']).size)} of ${size(file_.size)}: download it for the whole file.` }));
        body.push(el('pre', {}, code));
      }
      this.preview.replaceChildren(head, ...body);
    } catch (err) {
      if (this.previewing === file) this.preview.replaceChildren(el('p', { className: 'error', textContent: (err as Error).message }));
    }
  }

  /** Saves the file: fetched with the key (a plain link could not send it), handed over as a blob. */
  private async download(file: string, name: string): Promise<void> {
    try {
      const blob = await (await this.request(`${this.base()}/files/raw?path=${encodeURIComponent(file)}&download=1`)).blob();
      // Saved, never shown as a page of this origin.
      const url = URL.createObjectURL(new Blob([blob], { type: 'application/octet-stream' }));
      const link = el('a', { href: url, download: name, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      this.error.textContent = (err as Error).message;
    }
  }

  private async upload(files: File[]): Promise<void> {
    this.input.value = '';
    const folder = this.folder;
    const errors: string[] = [];
    for (const file of files) {
      try {
        await this.request(`${this.base()}/files?path=${encodeURIComponent(folder)}&name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file });
      } catch (err) {
        errors.push(`${file.name}: ${(err as Error).message}`);
      }
    }
    if (folder) this.expanded.add(folder);
    await this.refresh();
    this.error.textContent = errors.join(' ');
  }

  /** Under each answer that changed files, a collapsed list; opening it fetches and shows the diffs. */
  private async decorate(conversationId: string, transcript: HTMLElement): Promise<void> {
    let summary: { message_id: number; path: string; change: Change['change'] }[];
    try {
      summary = (await this.json<{ data: typeof summary }>(`${this.base()}/changes`)).data;
    } catch {
      return; // a conversation without a workspace yet
    }
    if (conversationId !== this.conversationId) return;
    // A transcript read at its end stays at its end with the lists added.
    const atEnd = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
    const byMessage = new Map<number, typeof summary>();
    for (const row of summary) byMessage.set(row.message_id, [...(byMessage.get(row.message_id) ?? []), row]);
    for (const [messageId, rows] of byMessage) {
      const answers = transcript.querySelectorAll<HTMLElement>(`.msg:not(.user):not(.live)[data-message="${messageId}"]`);
      const answer = answers[answers.length - 1];
      if (!answer || answer.querySelector('.changes')) continue;
      answer.append(this.changesBlock(conversationId, messageId, rows));
    }
    if (atEnd) transcript.scrollTop = transcript.scrollHeight;
  }

  private changesBlock(conversationId: string, messageId: number, rows: { path: string; change: Change['change'] }[]): HTMLElement {
    const details = el('details', { className: 'changes' });
    details.dataset.message = String(messageId);
    details.append(el('summary', { textContent: `${rows.length} file${rows.length === 1 ? '' : 's'} changed` }));
    const list = el('div', { className: 'changes-list' });
    list.append(...rows.map((r) => el('div', { className: 'change-file' }, this.changeHead(r))));
    details.append(list);
    let loaded = false;
    details.addEventListener('toggle', () => {
      if (!details.open || loaded) return;
      loaded = true;
      void this.json<{ data: Change[] }>(`/v1/conversations/${encodeURIComponent(conversationId)}/messages/${messageId}/changes`).then(({ data }) => {
        list.replaceChildren(...data.map((change) => {
          const block = el('div', { className: 'change-file' }, this.changeHead(change));
          if (change.diff) {
            const code = el('code', { className: 'hljs language-diff' });
            code.innerHTML = highlighted(change.diff, 'diff');
            block.append(el('pre', {}, code));
          }
          if (change.note) block.append(el('p', { className: 'files-note', textContent: change.note }));
          return block;
        }));
      }, (err) => {
        loaded = false;
        list.append(el('p', { className: 'error', textContent: (err as Error).message }));
      });
    });
    return details;
  }

  private changeHead(change: { path: string; change: Change['change'] }): HTMLElement {
    const name = el('button', { type: 'button', className: 'link change-path', textContent: change.path, disabled: change.change === 'deleted' });
    name.addEventListener('click', () => {
      if (this.panel.hidden) this.openPanel();
      void this.open(change.path);
    });
    return el('div', { className: 'change-head' }, el('span', { className: `change-kind ${change.change}`, textContent: change.change }), name);
  }
}
