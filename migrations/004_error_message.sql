-- A failed message's error as text for people, kept apart from the reply that shows it in a chat
-- (which adds a warning sign and notes): API clients get the plain message.
alter table messages add column error_message text;
