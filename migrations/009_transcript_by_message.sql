-- A message's reply is looked up by message (its outcome: a retried request, ?wait=queued, a lost
-- stream resumed); without this index every lookup read the whole transcript.
create index transcript_message on transcript(message_id, id) where message_id is not null;
