/**
 * Terminal tabs: a pseudo-terminal per tab running a shell, `claude` or `codex` in a conversation's
 * workspace (launch.ts), that outlives its viewers. Each tab keeps a bounded scrollback, replayed to
 * whoever attaches, and sends its output to every viewer at once; viewers with `write` type into it.
 * A tab ends when closed, when its process exits, or after `terminal.idle_timeout_s` without viewer
 * or output; ending one kills every process of its session (no process left behind).
 *
 * Who may open what is decided here (terminal.shell, terminal.allow_unsandboxed, max_per_user); who
 * may see a conversation is the HTTP adapter's business. The WebSocket lives in adapters/http/terminal.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as pty from '@lydell/node-pty';
import type { Config } from '../config/schema.js';
import type { Engines } from '../engine/index.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { SessionHolds } from './holds.js';
import { tabCommand, type TabKind } from './launch.js';
import { Scrollback } from './scrollback.js';
import { Shares, type ShareView } from './shares.js';

/** Why a Claude or Codex tab closed when its conversation moved on (sent to its viewers; a close reason fits 123 bytes). */
const SESSION_LEFT = 'The conversation moved to another session (/new, /session, /engine or /forget): open a new tab.';

export { SessionHolds } from './holds.js';
export { TAB_KINDS, type TabKind } from './launch.js';
export { Shares, type ShareView } from './shares.js';

export interface Viewer {
  readonly id: string;
  readonly name: string;
  readonly mode: 'view' | 'write';
  /** Attached through this share link: closed when it is revoked or expires. */
  readonly shareId?: number;
  /** Terminal output, as it came. */
  output(data: string): void;
  /** Anything else for the page: participants, the tab's end. */
  control(message: TabMessage): void;
  /** Ends this viewer's connection. */
  close(code: number, reason: string): void;
}

export type TabMessage =
  | { type: 'participants'; participants: { id: string; name: string; mode: 'view' | 'write'; typing: boolean }[] }
  | { type: 'exit'; code: number; reason: string };

/** How long after a key a participant shows as typing. */
const TYPING_MS = 1500;

export interface TabInfo {
  id: string;
  kind: TabKind;
  conversation_id: string;
  owner: string;
  created_at: number;
  viewers: number;
  cols: number;
  rows: number;
}

export interface Opener {
  user: string;
  admin: boolean;
}

export type OpenResult = { tab: Tab } | { status: 403 | 409 | 429 | 500; error: string };

export class Tab {
  readonly id = crypto.randomBytes(9).toString('base64url');
  readonly createdAt = Date.now();
  readonly viewers = new Map<string, Viewer>();
  /** Viewers who typed in the last moment ("typing now" in the participant list), with the timer that ends it. */
  readonly typing = new Map<string, NodeJS.Timeout>();
  lastActivity = Date.now();
  ended = false;

  constructor(
    readonly kind: TabKind,
    readonly conversationId: string,
    readonly owner: string,
    readonly process: pty.IPty,
    readonly scrollback: Scrollback,
    public cols: number,
    public rows: number,
  ) {}

  info(): TabInfo {
    return { id: this.id, kind: this.kind, conversation_id: this.conversationId, owner: this.owner, created_at: this.createdAt, viewers: this.viewers.size, cols: this.cols, rows: this.rows };
  }
}

export interface TerminalsDeps {
  config: Config;
  engines: Engines;
  store: Store;
  log: Logger;
  holds: SessionHolds;
  /** Tells the queue a conversation's waiting messages may run (its tab closed). */
  wake(conversationId: string): void;
  /** Engine tabs need the worker in this process (the session hold is in memory). */
  workersHere: boolean;
}

export class Terminals {
  private readonly tabs = new Map<string, Tab>();
  private readonly sweep: NodeJS.Timeout;
  readonly shares: Shares;

  constructor(private readonly deps: TerminalsDeps) {
    this.shares = new Shares(deps.store.db);
    const idleMs = deps.config.terminal.idle_timeout_s * 1000;
    this.sweep = setInterval(() => {
      this.closeIdle();
      this.closeLapsedShares();
    }, Math.max(200, Math.min(2000, idleMs / 4)));
    this.sweep.unref();
  }

  get(id: string): Tab | undefined {
    return this.tabs.get(id);
  }

  list(conversationId: string): TabInfo[] {
    return [...this.tabs.values()].filter((t) => t.conversationId === conversationId).map((t) => t.info());
  }

  /** Why `by` may not open a `kind` tab here, or undefined. */
  refusal(kind: TabKind, by: Opener): { status: 403; error: string } | undefined {
    // Order: what the gateway lacks, then what this key may not.
    const { terminal } = this.deps.config;
    if (this.deps.engines.sandbox.mode === 'none' && !terminal.allow_unsandboxed) {
      return { status: 403, error: 'Terminals are off: no sandbox is in force, so a terminal would run with the gateway\'s rights. Install bubblewrap, or set terminal.allow_unsandboxed = true.' };
    }
    if (kind !== 'shell' && !this.deps.engines.get(kind)) return { status: 403, error: `The ${kind} engine is not enabled on this gateway (engine.${kind}.enabled).` };
    if (kind === 'shell') {
      if (terminal.shell === 'off') return { status: 403, error: 'Shell tabs are off on this gateway (terminal.shell = "off").' };
      if (terminal.shell === 'admins' && !by.admin) return { status: 403, error: 'Shell tabs are for admin keys on this gateway (terminal.shell = "admins").' };
    }
    return undefined;
  }

  async open(kind: TabKind, conversationId: string, by: Opener, size: { cols: number; rows: number }): Promise<OpenResult> {
    const refused = this.refusal(kind, by);
    if (refused) return refused;
    const { config, store, holds, engines, log } = this.deps;
    const mine = [...this.tabs.values()].filter((t) => t.owner === by.user).length;
    if (mine >= config.terminal.max_per_user) return { status: 429, error: `You have ${mine} terminal tabs open, the most this gateway allows (terminal.max_per_user); close one first.` };
    const holdsSession = kind !== 'shell';
    if (holdsSession) {
      if (!this.deps.workersHere) return { status: 409, error: 'Claude and Codex tabs need the gateway to run its own workers (role "all").' };
      const holder = holds.holder(conversationId);
      if (holder) return { status: 409, error: `${holder} holds this conversation's session already; use it, or close it first.` };
      if (store.messages.counts(conversationId).running > 0) return { status: 409, error: 'An answer is being written in this conversation; open the tab when it is done (or /stop it).' };
      // Taken at once (no await since the check above): the worker asks before each turn.
      holds.take(conversationId, kind === 'claude' ? 'A Claude terminal tab' : 'A Codex terminal tab');
    }
    try {
      // The conversation's live CLI (if any) must not write the session while the tab does.
      if (holdsSession) await engines.release(conversationId);
      const command = tabCommand(kind, conversationId, this.deps);
      if ('error' in command) {
        if (holdsSession) this.giveBack(conversationId);
        return { status: 409, error: command.error };
      }
      const proc = pty.spawn(command.bin, command.args, {
        name: 'xterm-256color', cols: size.cols, rows: size.rows, cwd: command.cwd,
        env: command.env as Record<string, string>, uid: command.uid, gid: command.gid,
      });
      const tab = new Tab(kind, conversationId, by.user, proc, new Scrollback(config.terminal.scrollback_kb * 1024), size.cols, size.rows);
      this.tabs.set(tab.id, tab);
      proc.onData((data) => {
        tab.lastActivity = Date.now();
        tab.scrollback.append(data);
        for (const viewer of tab.viewers.values()) viewer.output(data);
      });
      proc.onExit(({ exitCode }) => this.end(tab, `the ${kind === 'shell' ? 'shell' : kind} exited (code ${exitCode})`, exitCode));
      log.info({ tab: tab.id, kind, conversationId, user: by.user }, 'terminal tab opened');
      return { tab };
    } catch (err) {
      if (holdsSession) this.giveBack(conversationId);
      log.error({ err, kind, conversationId }, 'terminal tab could not start');
      return { status: 500, error: `The ${kind} could not start: ${(err as Error).message}` };
    }
  }

  /** Adds a viewer: it gets the scrollback first, then live output. */
  attach(tab: Tab, viewer: Viewer): void {
    const replay = tab.scrollback.text();
    if (replay) viewer.output(replay);
    tab.viewers.set(viewer.id, viewer);
    tab.lastActivity = Date.now();
    this.announce(tab);
  }

  detach(tab: Tab, viewerId: string): void {
    if (!tab.viewers.delete(viewerId)) return;
    tab.lastActivity = Date.now();
    this.announce(tab);
  }

  /** Removes a participant: closes their connection at once. */
  remove(tab: Tab, viewerId: string, reason = 'removed by the tab\'s owner'): boolean {
    const viewer = tab.viewers.get(viewerId);
    if (!viewer) return false;
    viewer.close(4003, reason);
    this.detach(tab, viewerId);
    return true;
  }

  input(tab: Tab, viewer: Viewer, data: string): void {
    if (viewer.mode !== 'write' || tab.ended) return;
    tab.lastActivity = Date.now();
    tab.process.write(data);
    const wasTyping = tab.typing.has(viewer.id);
    clearTimeout(tab.typing.get(viewer.id));
    tab.typing.set(viewer.id, setTimeout(() => {
      tab.typing.delete(viewer.id);
      if (!tab.ended) this.announce(tab);
    }, TYPING_MS));
    if (!wasTyping) this.announce(tab);
  }

  resize(tab: Tab, cols: number, rows: number): void {
    if (tab.ended || !valid(cols, 2, 1000) || !valid(rows, 1, 500)) return;
    tab.cols = cols;
    tab.rows = rows;
    tab.process.resize(cols, rows);
  }

  close(tab: Tab, reason = 'closed'): void {
    this.end(tab, reason, undefined);
  }

  /**
   * The conversation left the session its Claude or Codex tabs run (/new, /session use, /engine,
   * /forget): they close, saying why, rather than keep writing a session the chat no longer uses
   * and holding the chat's next messages back. Shell tabs stay: they hold no session.
   */
  closeSessionTabs(conversationId: string): void {
    for (const tab of [...this.tabs.values()]) {
      if (tab.conversationId === conversationId && tab.kind !== 'shell') this.end(tab, SESSION_LEFT, undefined);
    }
  }

  closeAll(): void {
    clearInterval(this.sweep);
    for (const tab of [...this.tabs.values()]) this.end(tab, 'the gateway is stopping', undefined);
  }

  private end(tab: Tab, reason: string, code: number | undefined): void {
    if (tab.ended) return;
    tab.ended = true;
    this.tabs.delete(tab.id);
    killSession(tab.process.pid);
    for (const viewer of tab.viewers.values()) {
      viewer.control({ type: 'exit', code: code ?? -1, reason });
      viewer.close(1000, reason.slice(0, 120));
    }
    tab.viewers.clear();
    for (const timer of tab.typing.values()) clearTimeout(timer);
    if (tab.kind !== 'shell') this.giveBack(tab.conversationId);
    this.deps.log.info({ tab: tab.id, reason }, 'terminal tab ended');
  }

  private giveBack(conversationId: string): void {
    this.deps.holds.give(conversationId);
    this.deps.wake(conversationId);
  }

  private announce(tab: Tab): void {
    const participants = [...tab.viewers.values()].map(({ id, name, mode }) => ({ id, name, mode, typing: tab.typing.has(id) }));
    for (const viewer of tab.viewers.values()) viewer.control({ type: 'participants', participants });
  }

  /** What a share lets its holder do in `tab`: never more than its creator could. */
  shareMode(share: ShareView, tab: Tab): 'view' | 'write' | undefined {
    if (share.conversation_id !== tab.conversationId || (share.tab_id && share.tab_id !== tab.id)) return undefined;
    return share.mode === 'write' && !this.refusal(tab.kind, { user: share.created_by, admin: !!share.creator_admin }) ? 'write' : 'view';
  }

  /** Tabs a share reaches. */
  sharedTabs(share: ShareView): TabInfo[] {
    return this.list(share.conversation_id).filter((t) => !share.tab_id || t.id === share.tab_id);
  }

  /** Closes at once every socket attached through a share (it was revoked). */
  closeShare(shareId: number): void {
    for (const tab of this.tabs.values()) {
      for (const viewer of [...tab.viewers.values()]) if (viewer.shareId === shareId) this.remove(tab, viewer.id, 'the share link was revoked');
    }
  }

  private closeLapsedShares(): void {
    const checked = new Map<number, boolean>();
    for (const tab of this.tabs.values()) {
      for (const viewer of [...tab.viewers.values()]) {
        if (viewer.shareId === undefined) continue;
        if (!checked.has(viewer.shareId)) checked.set(viewer.shareId, this.shares.valid(viewer.shareId));
        if (!checked.get(viewer.shareId)) this.remove(tab, viewer.id, 'the share link was revoked or expired');
      }
    }
  }

  private closeIdle(): void {
    const limit = Date.now() - this.deps.config.terminal.idle_timeout_s * 1000;
    for (const tab of [...this.tabs.values()]) {
      if (tab.viewers.size === 0 && tab.lastActivity < limit) this.end(tab, 'idle', undefined);
    }
  }
}

function valid(n: number, min: number, max: number): boolean {
  return Number.isInteger(n) && n >= min && n <= max;
}

/**
 * Kills every process of the terminal's session: the tab's process leads it (a pseudo-terminal's
 * process starts one), and a shell's background jobs get process groups of their own inside it.
 * Under bubblewrap the sandbox's PID namespace dies with it as well.
 */
export function killSession(sid: number): void {
  const members = [sid];
  try {
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        // pid (comm) state ppid pgrp session ...: comm may hold spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(fields[3]) === sid) members.push(Number(entry));
      } catch {
        /* gone meanwhile */
      }
    }
  } catch {
    /* no /proc: the group is all we can reach */
  }
  for (const pid of [-sid, ...members]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
