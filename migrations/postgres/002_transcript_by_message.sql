-- 009_transcript_by_message.sql: a message's reply is looked up by message (its outcome); without
-- this index every lookup read the whole transcript. (008_search_in_batches.sql is SQLite's FTS5 only.)
create index transcript_message on transcript(message_id, id) where message_id is not null;
