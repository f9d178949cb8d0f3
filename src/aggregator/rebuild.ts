/**
 * `rebuild`: recomputes every window from the earliest retained offset up to the stored
 * checkpoints into a separate schema, with exact (unbounded) de-duplication, and compares
 * per (window, action) totals with the live tables (window partials + late ledger). Prints
 * the differences and exits 1 on any mismatch.
 *
 * @module
 */
import { defineCommand } from "../cli/options.ts";
import { rebuildSpec } from "../cli/specs.ts";
import type { Config } from "../config/mod.ts";
import { validateRecord } from "../events/mod.ts";
import { createKafkaClient, readTopic } from "../kafka/mod.ts";
import { createSql, migrate, type Sql, transaction } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { PROCESSOR } from "./sink.ts";
import { revenueCents, windowStart } from "./window.ts";

/** Totals per `windowStartIso|action`: events and revenue cents. */
export type TotalsByKey = Map<string, { events: number; revenueCents: bigint }>;

/** What a replay of the topic found. */
export interface RebuildResult {
  totals: TotalsByKey;
  records: number;
  valid: number;
  duplicates: number;
  malformed: number;
}

/**
 * Reads `topic` from the earliest retained offset up to `targets` (next offset per partition,
 * exclusive) and computes exact totals, without a consumer group.
 */
export async function replayTotals(
  config: Config,
  topic: string,
  targets: Map<number, bigint>,
  timeoutMs = 300_000,
): Promise<RebuildResult> {
  const result: RebuildResult = {
    totals: new Map(),
    records: 0,
    valid: 0,
    duplicates: 0,
    malformed: 0,
  };
  const to = new Map([...targets].filter(([, t]) => t > 0n));
  if (to.size === 0) return result;
  const seen = new Map<number, Set<string>>();
  await readTopic(createKafkaClient(config, { clientSuffix: "rebuild" }), topic, (batch) => {
    let ids = seen.get(batch.partition);
    if (!ids) seen.set(batch.partition, ids = new Set());
    for (const m of batch.records) {
      result.records++;
      const v = validateRecord(m.value, {
        recordTimestamp: m.timestamp,
        maxFutureMs: config.maxFutureMs,
      });
      if (!v.ok) {
        result.malformed++;
      } else if (ids.has(v.event.event_id)) {
        result.duplicates++;
      } else {
        ids.add(v.event.event_id);
        result.valid++;
        const key = `${new Date(windowStart(v.time)).toISOString()}|${v.event.action}`;
        const t = result.totals.get(key) ?? { events: 0, revenueCents: 0n };
        t.events++;
        t.revenueCents += BigInt(revenueCents(v.event));
        result.totals.set(key, t);
      }
    }
  }, { to, timeoutMs }).catch((e) => {
    throw new Error(
      `rebuild: cannot read ${topic} up to the stored checkpoints (records deleted by retention?): ${
        reasonOf(e)
      }`,
    );
  });
  return result;
}

/** Live totals per `windowStartIso|action`: window partials plus the late ledger. */
export async function liveTotals(sql: Sql, topic: string): Promise<TotalsByKey> {
  const rows = await sql<{ ws: Date; action: string; events: string; rev: string }[]>`
    select ws, action, sum(events)::bigint as events, sum(rev)::text as rev from (
      select window_start as ws, action, event_count as events, revenue_cents as rev
        from window_partials where topic = ${topic}
      union all
      select window_start, action, 1, revenue_cents from late_events where topic = ${topic}
    ) x group by ws, action`;
  const out: TotalsByKey = new Map();
  for (const r of rows) {
    out.set(`${r.ws.toISOString()}|${r.action}`, {
      events: Number(r.events),
      revenueCents: BigInt(r.rev),
    });
  }
  return out;
}

/** Differences between two totals maps, as printable lines (empty when equal). */
export function diffTotals(expected: TotalsByKey, actual: TotalsByKey): string[] {
  const out: string[] = [];
  const keys = [...new Set([...expected.keys(), ...actual.keys()])].sort();
  for (const k of keys) {
    const e = expected.get(k) ?? { events: 0, revenueCents: 0n };
    const a = actual.get(k) ?? { events: 0, revenueCents: 0n };
    if (e.events !== a.events || e.revenueCents !== a.revenueCents) {
      const [ws, action] = k.split("|");
      out.push(
        `${ws} ${action}: rebuilt events=${e.events} revenue_cents=${e.revenueCents}, live events=${a.events} revenue_cents=${a.revenueCents}`,
      );
    }
  }
  return out;
}

async function writeRebuild(sql: Sql, schema: string, topic: string, totals: TotalsByKey) {
  await transaction(sql, async (tx) => {
    await tx`create schema if not exists ${tx(schema)}`;
    await tx`create table if not exists ${tx(schema)}.minute_totals (
      topic text not null, window_start timestamptz not null, action text not null,
      event_count bigint not null, revenue_cents numeric(38, 0) not null,
      rebuilt_at timestamptz not null default now(),
      primary key (topic, window_start, action))`;
    await tx`delete from ${tx(schema)}.minute_totals where topic = ${topic}`;
    const keys = [...totals.keys()];
    if (keys.length === 0) return;
    await tx`
      insert into ${tx(schema)}.minute_totals (topic, window_start, action, event_count,
                                               revenue_cents)
      select ${topic}, s.ws, s.action, s.n, s.rev
        from unnest(${tx.array(keys.map((k) => k.split("|")[0]!))}::timestamptz[],
                    ${tx.array(keys.map((k) => k.split("|")[1]!))}::text[],
                    ${tx.array(keys.map((k) => String(totals.get(k)!.events)))}::bigint[],
                    ${tx.array(keys.map((k) => String(totals.get(k)!.revenueCents)))}::numeric[])
          as s(ws, action, n, rev)`;
  });
}

/** The `rebuild` command. */
export const rebuildCommand: Command = defineCommand(
  rebuildSpec,
  async (flags, ctx: ModuleContext): Promise<number> => {
    const topic = flags.topic ?? ctx.config.clickTopic;
    const { schema, "max-diffs": maxDiffs, "timeout-ms": timeoutMs } = flags;
    const sql = createSql(ctx.config, { max: 2 });
    try {
      await migrate(sql);
      const cps = await sql<{ partition: number; next_offset: string }[]>`
        select partition, next_offset from consumer_checkpoints
         where processor = ${PROCESSOR} and topic = ${topic}`;
      if (cps.length === 0) {
        console.error(`rebuild: no aggregator checkpoints for topic ${topic}; nothing to compare`);
        return 2;
      }
      const targets = new Map(cps.map((c) => [c.partition, BigInt(c.next_offset)]));
      const rebuilt = await replayTotals(ctx.config, topic, targets, timeoutMs);
      await writeRebuild(sql, schema, topic, rebuilt.totals);
      const live = await liveTotals(sql, topic);
      const diffs = diffTotals(rebuilt.totals, live);
      console.log(
        `rebuild ${topic}: ${rebuilt.records} records (${rebuilt.valid} valid, ${rebuilt.duplicates} duplicates, ${rebuilt.malformed} malformed) up to offsets ${
          [...targets].sort((a, b) => a[0] - b[0]).map(([p, o]) => `${p}:${o}`).join(",")
        }; ${rebuilt.totals.size} window/action cells in ${schema}.minute_totals`,
      );
      for (const d of diffs.slice(0, maxDiffs)) console.log(`DIFF ${d}`);
      if (diffs.length > 0) {
        console.log(`MISMATCH: ${diffs.length} window/action cells differ`);
        return 1;
      }
      console.log("OK: live windows + late ledger equal the rebuild");
      return 0;
    } catch (e) {
      console.error(`rebuild: ${reasonOf(e)}`);
      return 2;
    } finally {
      await sql.end({ timeout: 2 }).catch(() => {});
    }
  },
);

/** Commands the aggregator provides. */
export const aggregatorCommands: Command[] = [rebuildCommand];
