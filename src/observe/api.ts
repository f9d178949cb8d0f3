/**
 * The read-only data behind the dashboard's `/api/*` endpoints: actions and revenue per
 * minute for the last hour of data, late and dead-letter counts. Parameterised SQL only.
 *
 * "The last hour" is the 60 one-minute windows ending with the newest window in Postgres
 * (event time), so a replay of simulated days still shows a full chart. When the views have
 * a `topic` column (the aggregator's do), rows are limited to the configured click topic.
 *
 * @module
 */
import type { Sql } from "../postgres/mod.ts";
import type { RunningModule } from "../runtime/module.ts";
import { moduleState } from "./module_state.ts";

/** One bar/point of the actions chart. */
export interface ActionPoint {
  /** Window start, ISO. */
  t: string;
  action: string;
  count: number;
  final: boolean;
}

/** One point of the revenue chart. */
export interface RevenuePoint {
  t: string;
  purchases: number;
  /** Revenue with two decimals, as Postgres holds it (numeric → string). */
  revenue: string;
  final: boolean;
}

/** Late events recorded in Postgres. */
export interface LateCounts {
  total: number;
  lastHour: number;
}

function missingRelation(e: unknown): boolean {
  return (e as { code?: string }).code === "42P01";
}

/** Actions per minute over the last `minutes` windows of data (empty if the view is missing). */
export async function actionsPerMinute(
  sql: Sql,
  topic: string,
  minutes = 60,
): Promise<ActionPoint[]> {
  try {
    const rows = await sql<
      { window_start: Date; action: string; event_count: string; is_final: boolean }[]
    >`
      select a.window_start, a.action, a.event_count::text as event_count, a.is_final
      from action_counts_minute a
      where a.window_start > (select max(m.window_start) from action_counts_minute m
                               where m.topic = ${topic})
                             - make_interval(mins => ${minutes}::int)
        and a.topic = ${topic}
      order by a.window_start, a.action`;
    return rows.map((r) => ({
      t: r.window_start.toISOString(),
      action: r.action,
      count: Number(r.event_count),
      final: r.is_final,
    }));
  } catch (e) {
    if (missingRelation(e)) return [];
    throw e;
  }
}

/** Revenue per minute over the last `minutes` windows of data. */
export async function revenuePerMinute(
  sql: Sql,
  topic: string,
  minutes = 60,
): Promise<RevenuePoint[]> {
  try {
    const rows = await sql<
      { window_start: Date; purchases: string; revenue: string; is_final: boolean }[]
    >`
      select r.window_start, r.purchases::text as purchases,
             r.revenue::text as revenue, r.is_final
      from revenue_minute r
      where r.window_start > (select max(m.window_start) from revenue_minute m
                               where m.topic = ${topic})
                             - make_interval(mins => ${minutes}::int)
        and r.topic = ${topic}
      order by r.window_start`;
    return rows.map((r) => ({
      t: r.window_start.toISOString(),
      purchases: Number(r.purchases),
      revenue: r.revenue,
      final: r.is_final,
    }));
  } catch (e) {
    if (missingRelation(e)) return [];
    throw e;
  }
}

/** Late events in Postgres: all, and recorded in the last hour of wall-clock time. */
export async function lateCounts(sql: Sql, topic: string): Promise<LateCounts> {
  try {
    const [r] = await sql<{ total: string; last_hour: string }[]>`
      select count(*)::text as total,
             count(*) filter (where recorded_at > now() - interval '1 hour')::text as last_hour
      from late_events where topic = ${topic}`;
    return { total: Number(r?.total ?? 0), lastHour: Number(r?.last_hour ?? 0) };
  } catch (e) {
    if (missingRelation(e)) return { total: 0, lastHour: 0 };
    throw e;
  }
}

/** A module's figures for the dashboard. */
export interface ModuleSummary {
  name: string;
  /** "running", "faulted" (running with faulted partitions), "finished" or "failed". */
  state: string;
  eventsIn: number;
  eventsOut: number;
  deadLettered: number | null;
  late: number | null;
  lastFlushAt: string | null;
  /** Partitions that cannot go on (S3 refused, unreadable ledger), with the error and since when. */
  faults: { partition: number; reason: string; since: string }[];
}

/** Status of each running module. */
export function moduleSummaries(modules: RunningModule[]): ModuleSummary[] {
  return modules.map((m) => {
    const s = m.status();
    const faults = (s.faults ?? []).map((f) => ({
      partition: f.partition,
      reason: f.reason,
      since: new Date(f.since).toISOString(),
    })).sort((a, b) => a.partition - b.partition);
    const state = moduleState(m).state;
    return {
      name: m.name,
      state: state === "running" && faults.length ? "faulted" : state,
      eventsIn: s.eventsIn,
      eventsOut: s.eventsOut,
      deadLettered: s.deadLettered ?? null,
      late: s.late ?? null,
      lastFlushAt: s.lastFlushAt ? new Date(s.lastFlushAt).toISOString() : null,
      faults,
    };
  });
}
