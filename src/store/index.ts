/** The store: one database (SQLite, or PostgreSQL for several hosts) and a small repository per table group. */
import { Activity } from './activity.js';
import { Approvals } from './approvals.js';
import { Conversations } from './conversations.js';
import { FileChanges } from './file-changes.js';
import { openStoreDb, type Db, type StoreLocation } from './db.js';
import { Messages } from './messages.js';
import { Outbox } from './outbox.js';
import { Schedules } from './schedules.js';
import { Transcript } from './transcript.js';

export class Store {
  readonly conversations: Conversations;
  readonly messages: Messages;
  readonly outbox: Outbox;
  readonly transcript: Transcript;
  readonly approvals: Approvals;
  readonly schedules: Schedules;
  readonly fileChanges: FileChanges;
  readonly activity: Activity;

  constructor(readonly db: Db) {
    this.conversations = new Conversations(db);
    this.messages = new Messages(db);
    this.outbox = new Outbox(db);
    this.transcript = new Transcript(db);
    this.approvals = new Approvals(db);
    this.schedules = new Schedules(db);
    this.fileChanges = new FileChanges(db);
    this.activity = new Activity(db);
  }

  /** A string is an SQLite file (or ':memory:'). */
  static open(location: StoreLocation | string): Store {
    return new Store(openStoreDb(typeof location === 'string' ? { driver: 'sqlite', path: location, url: '' } : location));
  }

  close(): void {
    this.db.close();
  }
}
