-- The files each answer changed in its workspace (src/workspace-changes.ts), with a unified diff of each
-- text file, shown under the answer in the web chat.
create table file_changes (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  message_id integer not null,  -- the turn that changed it
  path text not null,           -- relative to the workspace, "/" separators
  change text not null,         -- added | modified | deleted
  diff text,                    -- unified diff; null for binary or large files (note says why)
  note text,
  created_at integer not null
);
create index file_changes_message on file_changes(message_id);
create index file_changes_conversation on file_changes(conversation_id, message_id);
