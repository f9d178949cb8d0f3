-- Progress of every Kafka consumer whose results live in PostgreSQL, stored in the same
-- transaction as the results (exactly-once). One row per (processor, topic, partition).
-- Writers update it with a compare-and-set on next_offset, so a zombie consumer that lost
-- its partition cannot overwrite newer progress.
create table consumer_checkpoints (
  processor    text        not null,
  topic        text        not null,
  partition    integer     not null,
  -- next offset to consume (Kafka's committed-offset convention)
  next_offset  bigint      not null check (next_offset >= 0),
  -- earliest offset the still-open state depends on; replay starts here after a restart
  replay_offset bigint     not null check (replay_offset >= 0),
  -- per-partition event-time watermark, null until the first event
  watermark    timestamptz,
  -- fencing token: bumped by each new owner of the partition
  owner_epoch  bigint      not null default 0,
  updated_at   timestamptz not null default now(),
  primary key (processor, topic, partition),
  check (replay_offset <= next_offset)
);
