/**
 * `verify`: recomputes per-minute counts from the archive and compares them with the
 * aggregator's PostgreSQL output.
 *
 * Archive truth uses the shared validator (`validateRecord`) and the aggregator's rules: an
 * event_id counts once (the first copy in offset order), window = floor(event time to the
 * minute), revenue = round(price × 100) × quantity cents for purchases. The PostgreSQL side is
 * `action_counts_minute` / `revenue_minute` plus the late ledger `late_events` (events that
 * arrived after their window was final), which together must equal the archive.
 *
 * @module
 */
import { type Action, ACTIONS, DEFAULT_MAX_FUTURE_MS, validateRecord } from "../events/mod.ts";
import { revenueCents } from "../aggregator/window.ts";
import type { Sql } from "../postgres/mod.ts";
import type { ArchivedRecord } from "./encode.ts";

/** Counts of one minute window. */
export interface WindowCounts {
  counts: Record<Action, number>;
  purchases: number;
  /** Exact, integer cents. */
  revenueCents: bigint;
}

/** Per window start (ISO) counts. */
export type Truth = Map<string, WindowCounts>;

function empty(): WindowCounts {
  return {
    counts: Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>,
    purchases: 0,
    revenueCents: 0n,
  };
}

/** Figures of an archive scan. */
export interface ScanStats {
  records: number;
  valid: number;
  duplicates: number;
  malformed: number;
  inRange: number;
}

/**
 * Recomputes per-minute counts of valid, de-duplicated events whose window start lies in
 * [fromMs, toMs). Records must come in offset order per partition (as the archive reads).
 */
export async function archiveTruth(
  records: AsyncIterable<ArchivedRecord> | Iterable<ArchivedRecord>,
  fromMs: number,
  toMs: number,
  maxFutureMs = DEFAULT_MAX_FUTURE_MS,
): Promise<{ truth: Truth; stats: ScanStats }> {
  const truth: Truth = new Map();
  const seen = new Set<string>();
  const stats: ScanStats = { records: 0, valid: 0, duplicates: 0, malformed: 0, inRange: 0 };
  for await (const r of records) {
    stats.records++;
    // the aggregator's clock guard, with the record timestamp the archive kept
    const v = validateRecord(r.value, { recordTimestamp: r.timestamp, maxFutureMs });
    if (!v.ok) {
      stats.malformed++;
      continue;
    }
    stats.valid++;
    const id = v.event.event_id;
    if (seen.has(id)) {
      stats.duplicates++;
      continue;
    }
    seen.add(id);
    const ws = Math.floor(v.time / 60_000) * 60_000;
    if (ws < fromMs || ws >= toMs) continue;
    stats.inRange++;
    const key = new Date(ws).toISOString();
    let w = truth.get(key);
    if (!w) truth.set(key, w = empty());
    w.counts[v.event.action]++;
    if (v.event.action === "purchase") {
      w.purchases++;
      w.revenueCents += BigInt(revenueCents(v.event));
    }
  }
  return { truth, stats };
}

/** Reads the aggregator's per-minute output of `topic` for [from, to): views plus the late ledger. */
export async function postgresCounts(
  sql: Sql,
  topic: string,
  from: Date,
  to: Date,
): Promise<Truth> {
  const out: Truth = new Map();
  const get = (ws: Date | string) => {
    const key = new Date(ws).toISOString();
    let w = out.get(key);
    if (!w) out.set(key, w = empty());
    return w;
  };
  const fromIso = from.toISOString();
  const toIso = to.toISOString();
  const isAction = (a: string): a is Action => (ACTIONS as readonly string[]).includes(a);

  const ac = await sql<{ window_start: Date; action: string; n: string }[]>`
    select window_start, action, sum(event_count)::bigint as n from action_counts_minute
     where window_start >= ${fromIso}::timestamptz and window_start < ${toIso}::timestamptz
       and topic = ${topic}
     group by 1, 2`;
  for (const r of ac) if (isAction(r.action)) get(r.window_start).counts[r.action] += Number(r.n);

  const rm = await sql<{ window_start: Date; purchases: string; cents: string }[]>`
    select window_start, sum(purchases)::bigint as purchases,
           round(sum(revenue) * 100)::text as cents
      from revenue_minute
     where window_start >= ${fromIso}::timestamptz and window_start < ${toIso}::timestamptz
       and topic = ${topic}
     group by 1`;
  for (const r of rm) {
    const w = get(r.window_start);
    w.purchases += Number(r.purchases);
    w.revenueCents += BigInt(r.cents);
  }

  const late = await sql<{ window_start: Date; action: string; n: string; cents: string }[]>`
    select window_start, action, count(*)::bigint as n,
           coalesce(sum(revenue_cents), 0)::text as cents
      from late_events
     where window_start >= ${fromIso}::timestamptz and window_start < ${toIso}::timestamptz
       and topic = ${topic}
     group by 1, 2`;
  for (const r of late) {
    if (!isAction(r.action)) continue;
    const w = get(r.window_start);
    w.counts[r.action] += Number(r.n);
    if (r.action === "purchase") {
      w.purchases += Number(r.n);
      w.revenueCents += BigInt(r.cents);
    }
  }
  return out;
}

/** One differing figure. */
export interface Mismatch {
  window: string;
  /** An action, or `purchases` / `revenue_cents`. */
  metric: Action | "purchases" | "revenue_cents";
  archive: number | bigint;
  postgres: number | bigint;
}

/** Compares archive truth with PostgreSQL; returns every differing figure, sorted. */
export function compareTruth(archive: Truth, pg: Truth): Mismatch[] {
  const out: Mismatch[] = [];
  const windows = [...new Set([...archive.keys(), ...pg.keys()])].sort();
  for (const window of windows) {
    const a = archive.get(window) ?? empty();
    const p = pg.get(window) ?? empty();
    for (const action of ACTIONS) {
      if (a.counts[action] !== p.counts[action]) {
        out.push({ window, metric: action, archive: a.counts[action], postgres: p.counts[action] });
      }
    }
    if (a.purchases !== p.purchases) {
      out.push({ window, metric: "purchases", archive: a.purchases, postgres: p.purchases });
    }
    if (a.revenueCents !== p.revenueCents) {
      out.push({
        window,
        metric: "revenue_cents",
        archive: a.revenueCents,
        postgres: p.revenueCents,
      });
    }
  }
  return out;
}

/** Renders mismatches as aligned lines: window, metric, archive, postgres. */
export function formatMismatches(ms: Mismatch[]): string[] {
  const lines = [
    `${"window".padEnd(24)} ${"metric".padEnd(16)} ${"archive".padStart(10)} ${
      "postgres".padStart(10)
    }`,
  ];
  for (const m of ms) {
    lines.push(
      `${m.window.padEnd(24)} ${m.metric.padEnd(16)} ${String(m.archive).padStart(10)} ${
        String(m.postgres).padStart(10)
      }`,
    );
  }
  return lines;
}
