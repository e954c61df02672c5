-- Each answer's tool calls, for the web app's activity timeline: what ran, on what, how it ended, how long.
create table activity (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  message_id integer not null,
  tool_use_id text not null,     -- the engine's id of the call
  tool text not null,            -- Bash, Edit, Read...
  summary text not null,         -- one line for people: "run npm test"
  result text,                   -- the first line of what it returned
  is_error integer not null default 0,
  started_at integer not null,
  finished_at integer
);
create index activity_message on activity(message_id, id);
create index activity_conversation on activity(conversation_id, message_id);

-- Full-text search over transcripts (a person's own conversations, from the web app).
create virtual table transcript_search using fts5(text, content = 'transcript', content_rowid = 'id');
insert into transcript_search(rowid, text) select id, text from transcript;
create trigger transcript_search_insert after insert on transcript begin
  insert into transcript_search(rowid, text) values (new.id, new.text);
end;
create trigger transcript_search_delete after delete on transcript begin
  insert into transcript_search(transcript_search, rowid, text) values ('delete', old.id, old.text);
end;
create trigger transcript_search_update after update of text on transcript begin
  insert into transcript_search(transcript_search, rowid, text) values ('delete', old.id, old.text);
  insert into transcript_search(rowid, text) values (new.id, new.text);
end;
