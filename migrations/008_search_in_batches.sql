-- Transcript lines are added to the search index in batches (Transcript.indexForSearch: before each
-- search, and every few seconds), not one at a time: FTS5 writes a new index segment for every
-- transaction that touches it, which doubled the cost of storing a message. A line waits in
-- transcript_unindexed until its batch; deleting or editing it there needs nothing of the index.
create table transcript_unindexed (id integer primary key);
drop trigger transcript_search_insert;
drop trigger transcript_search_delete;
drop trigger transcript_search_update;
create trigger transcript_search_insert after insert on transcript begin
  insert into transcript_unindexed (id) values (new.id);
end;
create trigger transcript_search_delete after delete on transcript begin
  insert into transcript_search(transcript_search, rowid, text)
    select 'delete', old.id, old.text where not exists (select 1 from transcript_unindexed where id = old.id);
  delete from transcript_unindexed where id = old.id;
end;
create trigger transcript_search_update after update of text on transcript
  when not exists (select 1 from transcript_unindexed where id = old.id) begin
  insert into transcript_search(transcript_search, rowid, text) values ('delete', old.id, old.text);
  insert into transcript_search(rowid, text) values (new.id, new.text);
end;
