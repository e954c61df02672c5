-- Conversations, their engine sessions, every accepted message (the inbox and the turn's state),
-- the transcript, and the outbox of replies waiting to be delivered.

create table conversations (
  id text primary key,                    -- "<platform>:<chat>[:<thread>]"
  platform text not null,
  chat_id text not null,
  thread_id text not null default '',
  user_id text not null,                  -- who started it
  title text,
  engine text,                            -- null: the configured default
  active_session_id integer,              -- sessions.id; null until the first turn
  last_message_at integer,
  created_at integer not null,
  updated_at integer not null
);
create unique index conversations_address on conversations(platform, chat_id, thread_id);

create table sessions (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  engine text not null,
  engine_session_id text,                 -- the CLI's own id, known after its first turn
  workspace text not null,
  turns integer not null default 0,
  cost_usd real not null default 0,
  created_at integer not null,
  last_used_at integer not null
);
create index sessions_conversation on sessions(conversation_id, id);

create table messages (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  kind text not null,                     -- prompt | command
  platform text not null,
  platform_message_id text,               -- for dedupe; null where the platform has none
  user_id text not null,
  user_key text not null,                 -- person the limits and budgets apply to
  text text not null,
  attachments text,                       -- JSON array of {name, path, size}
  reply_context text,                     -- JSON the adapter needs to answer (thread, interaction token...)
  status text not null,                   -- queued | running | done | failed | cancelled
  attempts integer not null default 0,
  cancel_requested integer not null default 0,
  session_id integer,
  engine_process text,                    -- "host:pid" of the CLI running this turn, to stop it after a crash
  error_code text,
  cost_usd real,
  received_at integer not null,
  started_at integer,
  finished_at integer
);
create unique index messages_platform_id on messages(platform, platform_message_id) where platform_message_id is not null;
create index messages_conversation_status on messages(conversation_id, status, id);
create index messages_status on messages(status, id);
create index messages_user_time on messages(user_key, received_at);

create table transcript (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  message_id integer,
  role text not null,                     -- user | assistant | notice
  text text not null,
  created_at integer not null
);
create index transcript_conversation on transcript(conversation_id, id);

create table outbox (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  message_id integer,                     -- the message this answers
  seq integer not null,                   -- chunk number within the answer
  text text not null,                     -- Markdown; the adapter renders it
  split integer not null default 0,       -- 1 once cut to the platform's message size
  ephemeral integer not null default 0,   -- show only to the asker where the platform can
  file_path text,                         -- a workspace file to send instead of text (/file)
  platform_ref text,                      -- the platform's id of the posted message (set while streaming)
  status text not null,                   -- draft | pending | sent | failed
  attempts integer not null default 0,
  next_attempt_at integer not null,
  deadline_at integer not null,
  last_error text,
  created_at integer not null,
  sent_at integer
);
create unique index outbox_message_seq on outbox(message_id, seq) where message_id is not null;
create index outbox_pending on outbox(status, next_attempt_at);

-- Conversations being drained by a worker of the sqlite queue driver.
create table leases (
  conversation_id text primary key,
  owner text not null,
  expires_at integer not null
);

-- API keys made by cligate itself (keys from the config file are not stored).
create table api_keys (
  sha256 text primary key,
  user text not null,
  created_at integer not null
);
