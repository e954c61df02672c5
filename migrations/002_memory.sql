-- Long-term memories. Their vectors live in `memory_vectors` (float32, for exact scores) and in a
-- sqlite-vec table `memory_bits_<dimension>` (1 bit per dimension, partitioned by scope, for the
-- coarse search); that one is made at start, once the embedding model's dimension is known.

create table memories (
  id integer primary key,
  scope text not null,                    -- "conversation:<id>" or "user:<person>"
  text text not null,
  source text not null,                   -- explicit | automatic | tool
  conversation_id text,                   -- where it was said
  user_key text not null,                 -- who said it
  model text not null,                    -- the embedding model of its vector
  hits integer not null default 0,        -- times recalled, or merged into
  created_at integer not null,
  updated_at integer not null
);
create index memories_scope on memories(scope, id);
create index memories_conversation on memories(conversation_id);

create table memory_vectors (
  id integer primary key references memories(id) on delete cascade,
  vector blob not null                    -- float32, little-endian, normalized
);
