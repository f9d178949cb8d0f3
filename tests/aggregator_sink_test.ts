/**
 * The Postgres side: claims bump the owner epoch, a zombie's flush is fenced and writes
 * nothing, re-applied absolute partials are idempotent, and `is_final` needs every
 * partition's watermark past the window end.
 */
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { claimPartition, FencedError, writeFlush } from "../src/aggregator/mod.ts";
import type { FlushPlan } from "../src/aggregator/mod.ts";
import { registerTopic } from "../src/aggregator/sink.ts";
import { freshDatabase } from "./_support.ts";

const W0 = Date.parse("2026-01-01T00:00:00.000Z");

function plan(over: Partial<FlushPlan>): FlushPlan {
  return {
    topic: "t",
    partition: 0,
    epoch: 1,
    prevNextOffset: 0n,
    nextOffset: 10n,
    replayOffset: 0n,
    watermark: W0 + 30_000,
    partials: [{ windowStart: W0, counts: [5, 2, 1, 0, 1], revenueCents: 1234 }],
    late: [],
    dead: [],
    ...over,
  };
}

Deno.test({
  name: "aggregator sink: CAS fencing, idempotent absolute partials, finality over all partitions",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = await freshDatabase("agg_sink");
    const { sql } = db;
    try {
      await registerTopic(sql, "t", 2);
      const a = await claimPartition(sql, "t", 0);
      assertEquals(a.epoch, 1);
      await writeFlush(sql, plan({}));
      // a second owner claims; the first one's next flush is fenced and writes nothing
      const b = await claimPartition(sql, "t", 0);
      assertEquals([b.epoch, b.nextOffset, b.watermark], [2, 10n, W0 + 30_000]);
      await rejects(
        writeFlush(
          sql,
          plan({
            prevNextOffset: 10n,
            nextOffset: 20n,
            partials: [{ windowStart: W0, counts: [99, 0, 0, 0, 0], revenueCents: 0 }],
          }),
        ),
        FencedError,
      );
      // wrong previous offset is fenced too
      await rejects(writeFlush(sql, plan({ epoch: 2, prevNextOffset: 5n })), FencedError);
      // the new owner rewrites the same absolute values: idempotent
      await writeFlush(
        sql,
        plan({ epoch: 2, prevNextOffset: 10n, nextOffset: 12n, watermark: W0 + 60_000 }),
      );
      const rows = await sql<{ action: string; event_count: string; is_final: boolean }[]>`
        select action, event_count, is_final from action_counts_minute order by action`;
      assertEquals(rows.map((r) => [r.action, Number(r.event_count), r.is_final]), [
        ["add_to_cart", 1, false],
        ["click", 2, false],
        ["purchase", 1, false],
        ["view", 5, false],
      ]);
      // partition 1 has no watermark yet: not final; once it passes the end, final
      await claimPartition(sql, "t", 1);
      await writeFlush(
        sql,
        plan({ partition: 1, epoch: 1, partials: [], nextOffset: 0n, watermark: W0 + 60_000 }),
      );
      const rev = await sql<{ purchases: string; revenue: string; is_final: boolean }[]>`
        select purchases, revenue, is_final from revenue_minute`;
      assertEquals(rev.map((r) => [Number(r.purchases), r.revenue, r.is_final]), [[
        1,
        "12.34",
        true,
      ]]);
      // late events: one row per event_id
      const late = {
        eventId: "e1",
        offset: 11n,
        windowStart: W0,
        watermark: W0 + 70_000,
        latenessMs: 10_000,
        action: "purchase",
        revenueCents: 500,
        eventJson: '{"event_id":"e1"}',
      };
      await writeFlush(
        sql,
        plan({
          epoch: 2,
          prevNextOffset: 12n,
          nextOffset: 13n,
          partials: [],
          late: [late],
          watermark: W0 + 70_000,
        }),
      );
      await writeFlush(
        sql,
        plan({
          epoch: 2,
          prevNextOffset: 13n,
          nextOffset: 14n,
          partials: [],
          late: [{ ...late, offset: 13n }],
          watermark: W0 + 70_000,
        }),
      );
      const l = await sql<{ n: string; off: string; end: Date }[]>`
        select count(*) over () as n, "offset" as off, window_end as end from late_events`;
      assertEquals([Number(l[0]!.n), BigInt(l[0]!.off), l[0]!.end.getTime()], [
        1,
        11n,
        W0 + 60_000,
      ]);
    } finally {
      await db.drop();
    }
  },
});
