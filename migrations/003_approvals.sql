-- Claude asks, a person answers: each permission request, question or plan approval, who may
-- answer it, and the decision; rules a person chose to keep for a conversation; and its mode.

create table approvals (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  message_id integer not null,            -- the turn that asked
  kind text not null,                     -- tool | question | plan
  tool text not null,
  input text not null,                    -- JSON, as the CLI sent it
  suggestions text not null default '[]', -- JSON: the CLI's permission_suggestions
  requested_by text not null,             -- platform user id of the person whose message started the turn
  status text not null default 'pending', -- pending | allowed | denied | expired | cancelled
  choice text,                            -- allow | allow_always | deny | answer
  reason text,                            -- a denial's message, the answers as JSON...
  answers text not null default '{}',     -- questions answered so far: {"<question index>": ["label", ...]}
  decided_by text,
  platform_ref text,                      -- the message showing the request, once posted
  waiting integer not null default 0,     -- messages queued behind the turn when it asked
  expires_at integer not null,
  created_at integer not null,
  decided_at integer
);
create index approvals_pending on approvals(conversation_id, status);
create index approvals_message on approvals(message_id);

create table permission_rules (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  rule text not null,                     -- as --allowedTools takes it: "Bash(npm test *)", "Write"
  created_by text not null,
  created_at integer not null,
  unique (conversation_id, rule)
);

alter table conversations add column permission_mode text; -- ask | edits | plan | auto; null: the configured default

-- 0 where the client that sent the message cannot show requests (the OpenAI-compatible API): denied at once.
alter table messages add column can_ask integer not null default 1;
