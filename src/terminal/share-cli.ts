/**
 * `cligate share`: makes, lists or revokes share links of a conversation's terminal tabs from the
 * machine's shell, straight in the database (the gateway checks links there at each connection and
 * every few seconds while they are in use). Whoever runs it holds the database: an admin.
 *
 *   cligate share <conversation id> [--tab ID] [--write] [--expires SECONDS]   a link (every tab of the conversation without --tab)
 *   cligate share <conversation id> --list
 *   cligate share --revoke ID
 */
import type { LoadedConfig } from '../config/load.js';
import { Store } from '../store/index.js';
import { Shares } from './shares.js';

export interface ShareArgs {
  conversation?: string;
  tab?: string;
  write?: boolean;
  expires?: string;
  list?: boolean;
  revoke?: string;
}

export function runShare(config: LoadedConfig, args: ShareArgs, print: (line: string) => void = console.log): number {
  const store = Store.open(config.store);
  try {
    const shares = new Shares(store.db);
    if (args.revoke) {
      const ok = shares.revoke(Number(args.revoke));
      print(ok ? `Share ${args.revoke} revoked: its sockets close within seconds.` : `No live share ${args.revoke}.`);
      return ok ? 0 : 1;
    }
    const conversation = args.conversation;
    if (!conversation || !conversation.includes(':')) {
      print('cligate share: give a full conversation id, such as "http:owner:work" or "telegram:123".');
      return 2;
    }
    // A web conversation may have tabs before its first message: a note, not a refusal.
    if (!store.conversations.get(conversation)) print(`Note: no message in ${conversation} yet; check the id if no tab shows.`);
    if (args.list) {
      for (const s of shares.list(conversation)) print(`${s.id}\t${s.mode}\t${s.tab_id ?? 'every tab'}\tby ${s.created_by}\tuntil ${new Date(s.expires_at).toISOString()}`);
      return 0;
    }
    const expiresInS = Number(args.expires ?? 3600);
    if (!Number.isFinite(expiresInS) || expiresInS <= 0) {
      print('cligate share: --expires takes seconds, such as 3600.');
      return 2;
    }
    const { token, share } = shares.create({ conversationId: conversation, tabId: args.tab, mode: args.write ? 'write' : 'view', createdBy: 'cli', creatorAdmin: true, expiresInS });
    const host = ['0.0.0.0', '::'].includes(config.http.host) ? 'localhost' : config.http.host;
    print(`Share ${share.id} (${share.mode === 'write' ? 'can type' : 'view only'}, ${share.tab_id ? `tab ${share.tab_id}` : 'every tab'}, until ${new Date(share.expires_at).toISOString()}); the link is shown once:\n\n  http://${host}:${config.http.port}/#share=${token}\n\nRevoke it with: cligate share --revoke ${share.id}`);
    return 0;
  } finally {
    store.close();
  }
}
