-- Exact revenue and topic-wide event-time progress. See docs/aggregator.md.
--
-- Revenue sums are integer cents of unbounded size (numeric), so no sum of valid events can
-- overflow a column: one event is at most 10^12 cents (price <= 1,000,000.00, quantity <=
-- 10,000), a window of a busy shop can hold millions of them. Cents become currency units by
-- multiplying by 0.01 (exact), not dividing by 100 (numeric division rounds past 16 digits).
--
-- Every owner stores, with each checkpoint, whether its partition is idle (caught up and
-- silent for NEXUS_IDLE_TIMEOUT_MS) and live (event time tracks record time and the wall
-- clock), so every process can move its idle partitions with the topic's event-time
-- frontier instead of the wall clock.

alter table consumer_checkpoints
  add column idle boolean not null default false,
  add column live boolean not null default false;

drop view revenue_minute;
drop view action_counts_minute;

alter table window_partials
  alter column revenue_cents type numeric(38, 0) using revenue_cents::numeric(38, 0);

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
         (sum(p.revenue_cents) * 0.01)::numeric(40, 2) as revenue,
         coalesce(p.window_start + interval '1 minute' <= f.final_through, false) as is_final,
         p.topic
    from window_partials p
    left join aggregator_finality f on f.topic = p.topic
   group by p.topic, p.window_start, f.final_through;
