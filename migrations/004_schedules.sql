-- Schedules set from the chat (/every, /at, /in), and each person's time zone (/tz).
--
-- An occurrence is fired by inserting a message with platform = 'schedule' and platform_message_id =
-- '<schedule id>@<occurrence time in ms>': the unique index messages_platform_id makes that insert the
-- lease, so however many processes fire at once, each occurrence becomes one message.

alter table messages add column schedule_id integer;   -- the schedule that fired this message
create index messages_schedule on messages(schedule_id, id) where schedule_id is not null;

create table schedules (
  id integer primary key,
  conversation_id text not null references conversations(id) on delete cascade,
  name text not null,
  prompt text not null,
  kind text not null,                     -- cron | interval | once
  spec text not null,                     -- cron pattern, interval in ms, or the time in ms
  timezone text not null,                 -- IANA zone the cron pattern is read in
  user_id text not null,                  -- who made it, on the conversation's platform: the asker of every run
  user_key text not null,
  status text not null,                   -- active | paused | done | cancelled
  next_run_at integer,                    -- the next occurrence (ms); null once done or cancelled
  anchor_at integer not null,             -- intervals count from here
  streak_from integer not null default 0, -- failures in a row are counted among its messages after this id
  created_at integer not null,
  updated_at integer not null
);
create index schedules_due on schedules(status, next_run_at);
create index schedules_conversation on schedules(conversation_id, id);

create table person_settings (
  user_key text primary key,
  timezone text,
  updated_at integer not null
);
