-- Aggregator: exactly-once per-minute windows. See docs/aggregator.md.
--
-- Each partition's owner writes ABSOLUTE partial aggregates of its windows, its late events,
-- its dead-letter counters and its consumer_checkpoints row in one transaction (CAS on
-- next_offset + owner_epoch). Users query the views action_counts_minute and revenue_minute
-- and the table late_events.

-- Partition count of every aggregated topic: a window is final only when EVERY partition's
-- watermark has passed its end.
create table aggregator_topics (
  topic       text        primary key,
  partitions  integer     not null check (partitions > 0),
  updated_at  timestamptz not null default now()
);

-- Per-partition partial aggregates (absolute values, overwritten by MERGE).
create table window_partials (
  topic          text        not null,
  partition      integer     not null,
  window_start   timestamptz not null,
  action         text        not null
    check (action in ('view', 'click', 'add_to_cart', 'remove_from_cart', 'purchase')),
  event_count    bigint      not null check (event_count >= 0),
  -- purchase revenue in integer cents (0 for other actions)
  revenue_cents  bigint      not null default 0 check (revenue_cents >= 0),
  updated_at     timestamptz not null default now(),
  primary key (topic, partition, window_start, action)
);
create index window_partials_window on window_partials (topic, window_start);

-- Every valid event that arrived after its window was final for its partition. One row per
-- event_id: a re-sent copy of a late event is not a second event.
create table late_events (
  topic          text        not null,
  event_id       text        not null,
  partition      integer     not null,
  "offset"       bigint      not null,
  window_start   timestamptz not null,
  window_end     timestamptz not null,
  action         text        not null,
  revenue_cents  bigint      not null default 0,
  -- the partition's watermark when the event arrived
  watermark      timestamptz not null,
  -- watermark - window_end at arrival (>= 0)
  lateness_ms    bigint      not null,
  event          jsonb       not null,
  recorded_at    timestamptz not null default now(),
  primary key (topic, event_id)
);
create index late_events_window on late_events (topic, window_start);

-- Malformed records sent to the dead-letter topic, counted exactly once per offset.
create table aggregator_dead_letters (
  topic       text        not null,
  partition   integer     not null,
  reason      text        not null,
  records     bigint      not null check (records >= 0),
  updated_at  timestamptz not null default now(),
  primary key (topic, partition, reason)
);

create view dead_letters_total as
  select topic, reason, sum(records)::bigint as records
    from aggregator_dead_letters
   group by topic, reason;

-- final_through: windows ending at or before it are final (null: not every partition has a
-- watermark yet).
create view aggregator_finality as
  select t.topic,
         case when count(c.watermark) >= t.partitions then min(c.watermark) end
           as final_through
    from aggregator_topics t
    left join consumer_checkpoints c
      on c.processor = 'aggregator' and c.topic = t.topic
   group by t.topic, t.partitions;

create view action_counts_minute as
  select p.window_start,
         p.window_start + interval '1 minute' as window_end,
         p.action,
         sum(p.event_count)::bigint as event_count,
         coalesce(p.window_start + interval '1 minute' <= f.final_through, false) as is_final,
         p.topic
    from window_partials p
    left join aggregator_finality f on f.topic = p.topic
   group by p.topic, p.window_start, p.action, f.final_through;

create view revenue_minute as
  select p.window_start,
         p.window_start + interval '1 minute' as window_end,
         coalesce(sum(p.event_count) filter (where p.action = 'purchase'), 0)::bigint
           as purchases,
         (sum(p.revenue_cents) / 100.0)::numeric(14, 2) as revenue,
         coalesce(p.window_start + interval '1 minute' <= f.final_through, false) as is_final,
         p.topic
    from window_partials p
    left join aggregator_finality f on f.topic = p.topic
   group by p.topic, p.window_start, f.final_through;
