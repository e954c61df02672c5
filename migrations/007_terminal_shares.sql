-- Share links of terminal tabs (src/terminal/shares.ts): one tab, or every tab of one conversation,
-- view-only or read-write, until an expiry or a revocation. Only the token's SHA-256 is kept.
create table terminal_shares (
  id integer primary key,
  token_sha256 text not null unique,
  conversation_id text not null,
  tab_id text,                  -- null: every tab of the conversation
  mode text not null,           -- view | write
  created_by text not null,     -- the API key's user
  creator_admin integer not null, -- 1: made with an admin key (what the link may grant follows from it)
  created_at integer not null,
  expires_at integer not null,
  revoked_at integer
);
create index terminal_shares_conversation on terminal_shares(conversation_id);
