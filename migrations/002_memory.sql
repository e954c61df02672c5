-- Long-term memories. Each has a float32 vector (exact scores) and a 1-bit-per-dimension code
-- (coarse search), both in `memory_vectors`; the codes are also in a sqlite-vec table
-- `memory_bits_<dimension>` (partitioned by scope), made at start once the model's dimension is
-- known. `memory_scopes` counts changes per scope, so that every process knows when its in-memory
-- copy of a scope's codes is stale.

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
  vector blob not null,                   -- float32, little-endian, normalized
  bits blob not null                      -- sign of each dimension, 32 per little-endian uint32
);

create table memory_scopes (
  scope text primary key,
  version integer not null default 0,     -- any change
  resets integer not null default 0,      -- changes other than additions (deletions, merges)
  size integer not null default 0         -- memories in the scope
);
