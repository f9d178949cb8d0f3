/**
 * The Postgres side: claims bump the owner epoch, a zombie's flush is fenced and writes
 * nothing, re-applied absolute partials are idempotent, `is_final` needs every partition's
 * watermark past the window end, revenue sums are exact beyond 64 bits, and a late event
 * PostgreSQL refuses is named without blocking the others.
 */
import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { claimPartition, FencedError, writeFlush } from "../src/aggregator/mod.ts";
import type { FlushPlan } from "../src/aggregator/mod.ts";
import { registerTopic, topicTimes, UnstorableRecords } from "../src/aggregator/sink.ts";
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
    idle: false,
    live: false,
    partials: [{ windowStart: W0, counts: [5, 2, 1, 0, 1], revenueCents: 1234n }],
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
            partials: [{ windowStart: W0, counts: [99, 0, 0, 0, 0], revenueCents: 0n }],
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
        key: null,
        value: null,
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

      // a window's revenue beyond 2^63 cents stays exact (numeric), to the cent
      const huge = 2n ** 70n + 7n;
      await writeFlush(
        sql,
        plan({
          epoch: 2,
          prevNextOffset: 14n,
          nextOffset: 15n,
          watermark: W0 + 70_000,
          partials: [{ windowStart: W0 + 120_000, counts: [0, 0, 0, 0, 3], revenueCents: huge }],
        }),
      );
      const big = await sql<{ cents: string; revenue: string }[]>`
        select p.revenue_cents::text as cents, r.revenue::text as revenue
          from window_partials p join revenue_minute r using (topic, window_start)
         where p.window_start = ${new Date(W0 + 120_000)}`;
      assertEquals(big.map((r) => [BigInt(r.cents), r.revenue]), [[
        huge,
        `${huge / 100n}.${String(huge % 100n).padStart(2, "0")}`,
      ]]);

      // a late event with a NUL character cannot be stored: named, the flush rolled back
      const good = { ...late, eventId: "e-ok", offset: 15n, eventJson: '{"event_id":"e-ok"}' };
      const nul = {
        ...late,
        eventId: "e\u0000bad",
        offset: 16n,
        eventJson: JSON.stringify({ event_id: "e\u0000bad" }),
      };
      const hostile = plan({
        epoch: 2,
        prevNextOffset: 15n,
        nextOffset: 17n,
        partials: [],
        late: [good, nul],
        watermark: W0 + 70_000,
      });
      const refused = await writeFlush(sql, hostile).then(() => undefined, (e) => e);
      assertEquals(refused instanceof UnstorableRecords, true, String(refused));
      assertEquals([...(refused as UnstorableRecords).offsets.keys()], [16n]);
      const after = await sql<{ n: string }[]>`
        select count(*) as n from late_events where event_id = 'e-ok'`;
      assertEquals(Number(after[0]!.n), 0, "nothing of the refused flush was written");
      // without the refused one, the same flush goes through
      await writeFlush(sql, { ...hostile, late: [good] });
      const ok = await sql<{ n: string }[]>`
        select count(*) as n from late_events where event_id = 'e-ok'`;
      assertEquals(Number(ok[0]!.n), 1);

      // every partition's event-time state is readable for the topic-wide rules
      await writeFlush(
        sql,
        plan({
          partition: 1,
          epoch: 1,
          partials: [],
          prevNextOffset: 0n,
          nextOffset: 0n,
          watermark: W0 + 90_000,
          idle: true,
          live: true,
        }),
      );
      const times = await topicTimes(sql, "t");
      assertEquals(times.partitions, 2);
      assertEquals(
        times.views.sort((x, y) => x.partition - y.partition),
        [
          { partition: 0, watermark: W0 + 70_000, idle: false, live: false },
          { partition: 1, watermark: W0 + 90_000, idle: true, live: true },
        ],
      );
    } finally {
      await db.drop();
    }
  },
});
