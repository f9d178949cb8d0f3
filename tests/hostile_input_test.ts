/**
 * A hostile corpus through the aggregator and the archiver: every malformed kind, schema-valid
 * extremes (prices 0 and at the bound, quantities at and past it, fractions of a cent, 1e15 and
 * 1e308), timestamps in 2099 (a wrong producer clock), in year 0000 and 0001, on 2024-02-29
 * and 2028-02-29 and at a minute boundary ±1 ms, ids with unicode and control characters, values of 8 KiB ± 1
 * byte, duplicate JSON keys, a null key, a tombstone, binary garbage, and late events
 * PostgreSQL cannot store (a NUL character, a lone surrogate).
 *
 * Every record's fate is known in advance. Afterwards: counted + late ledger + dead letters =
 * records produced, each dead letter in the DLQ with its reason and original offset, the
 * checkpoint at the end offset within seconds, exact revenue, and the archive byte-exact.
 */
import assert from "node:assert/strict";
import { createAggregator, DLQ_HEADERS } from "../src/aggregator/mod.ts";
import { createArchiver } from "../src/archiver/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { MAX_EVENT_BYTES } from "../src/events/mod.ts";
import { createKafkaClient, type OutRecord, readTopic } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import {
  assertExactlyOnce,
  readArchive,
  readTopic as readTopicRecords,
  waitArchived,
} from "./fixtures/archiver_support.ts";

const B = Date.UTC(2026, 2, 1, 10, 0, 0);
const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Fate = "counted" | "late" | `dead:${string}`;
interface Case {
  what: string;
  fate: Fate;
  record: OutRecord;
  /** Revenue in cents when counted (purchases). */
  cents?: bigint;
}

let n = 0;
const event = (time: string | number, over: Record<string, unknown> = {}) => ({
  schema_version: 1,
  event_id: `h-${n++}`,
  user_id: "u1",
  session_id: "s1",
  product_id: "p1",
  action: "view",
  timestamp: typeof time === "number" ? new Date(time).toISOString() : time,
  ...over,
});
const rec = (value: unknown, ts: number, key: string | null = "u1"): OutRecord => ({
  key,
  value: value === null
    ? null
    : value instanceof Uint8Array
    ? value
    : enc.encode(typeof value === "string" ? value : JSON.stringify(value)),
  partition: 0,
  timestamp: ts,
});
/** An on-time event: its record timestamp half a second after its event time. */
const onTime = (what: string, t: number, over: Record<string, unknown> = {}, cents?: bigint) => ({
  what,
  fate: "counted" as Fate,
  record: rec(event(t, over), t + 500),
  cents,
});
const dead = (what: string, reason: string, value: unknown, ts = B + 20_000): Case => ({
  what,
  fate: `dead:${reason}`,
  record: rec(value, ts),
});
/** A view whose JSON is exactly `bytes` long (padded with an extra field). */
function viewOfSize(bytes: number, t: number): Record<string, unknown> {
  const e: Record<string, unknown> = event(t, { pad: "" });
  const base = JSON.stringify(e).length;
  e.pad = "x".repeat(bytes - base);
  assert.equal(enc.encode(JSON.stringify(e)).length, bytes);
  return e;
}

function corpus(): Case[] {
  const cases: Case[] = [];
  for (let i = 0; i < 10; i++) cases.push(onTime(`on-time view ${i}`, B + i * 1000));
  cases.push({
    what: "a view stamped 2099 (wrong producer clock)",
    fate: "dead:future_timestamp",
    record: rec(event("2099-01-01T00:00:00.000Z"), B + 10_000),
  });
  for (let i = 11; i <= 20; i++) {
    cases.push(onTime(`on-time view ${i} after the 2099 one`, B + i * 1000));
  }
  const purchase = { action: "purchase", price: 9.99, quantity: 1 };
  cases.push(
    dead("truncated JSON", "not_json", '{"schema_version":1,"event_id":"x'),
    dead("no user_id", "missing_field", { ...event(B), user_id: undefined }),
    dead("quantity as a string", "wrong_type", event(B, { ...purchase, quantity: "2" })),
    dead("unknown action", "unknown_action", event(B, { action: "hover" })),
    dead("30 February", "bad_timestamp", event("2026-02-30T10:00:00.000Z")),
    dead("schema version 2", "wrong_schema_version", event(B, { schema_version: 2 })),
    dead("8 KiB + 1 byte", "oversized", viewOfSize(MAX_EVENT_BYTES + 1, B + 21_000)),
  );
  cases.push(
    {
      what: "exactly 8 KiB",
      fate: "counted",
      record: rec(viewOfSize(MAX_EVENT_BYTES, B + 21_000), B + 21_500),
    },
    {
      what: "8 KiB − 1 byte",
      fate: "counted",
      record: rec(viewOfSize(MAX_EVENT_BYTES - 1, B + 21_500), B + 22_000),
    },
  );
  cases.push(
    dead(
      "price 1e15 × quantity 1e6",
      "out_of_range",
      event(B, { ...purchase, price: 1e15, quantity: 1e6 }),
    ),
    dead("price 1e308", "out_of_range", event(B, { ...purchase, price: 1e308 })),
    dead("quantity past the bound", "out_of_range", event(B, { ...purchase, quantity: 10_001 })),
  );
  cases.push(
    onTime(
      "the largest purchase: price and quantity at the bounds",
      B + 22_000,
      { ...purchase, price: 1_000_000, quantity: 10_000 },
      10n ** 12n,
    ),
    onTime("a free purchase (price 0)", B + 22_500, { ...purchase, price: 0 }, 0n),
    dead("half a cent", "out_of_range", event(B, { ...purchase, price: 0.005 })),
    onTime("an ordinary purchase", B + 23_000, { ...purchase, price: 19.99, quantity: 3 }, 5997n),
    dead("year 0000", "out_of_range", event("0000-06-01T00:00:00.000Z")),
    {
      what: "year 0001: very old, valid, late",
      fate: "late",
      record: rec(event("0001-01-01T00:00:00.000Z"), B + 24_000),
    },
  );
  cases.push(
    onTime("1 ms before a minute boundary", B + 60_000 - 1),
    onTime("at the minute boundary", B + 60_000),
    onTime("1 ms after the minute boundary", B + 60_001),
    onTime("unicode id", B + 61_000, { event_id: "é-日本-🎉-" + n++ }),
    onTime("control characters in the id", B + 61_500, { event_id: `ctl\u0001\t\n${n++}` }),
    {
      what: "duplicate JSON keys (the last wins: click)",
      fate: "counted",
      record: rec(
        JSON.stringify(event(B + 62_000)).replace(/}$/, ',"action":"click"}'),
        B + 62_500,
      ),
    },
    { what: "null key", fate: "counted", record: rec(event(B + 62_500), B + 63_000, null) },
    dead("tombstone (null value)", "not_json", null),
    dead("binary garbage", "not_json", Uint8Array.of(0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0x0a)),
    onTime("an event that moves the watermark past the first window", B + 70_000),
    {
      what: "a late event with a NUL in its id",
      fate: "dead:unstorable",
      record: rec(event(B + 30_000, { event_id: "late\u0000nul" }), B + 71_000),
    },
    {
      what: "a late event with a lone surrogate in its id",
      fate: "dead:unstorable",
      record: rec(event(B + 31_000, { event_id: "late\ud800x" }), B + 71_500),
    },
    { what: "an ordinary late event", fate: "late", record: rec(event(B + 40_000), B + 72_000) },
    {
      what: "29 February 2024: a real leap day, valid, late",
      fate: "late",
      record: rec(event("2024-02-29T23:59:59.999Z"), B + 72_500),
    },
    {
      // Kafka refuses record timestamps more than an hour ahead of the broker's clock
      // (log.message.timestamp.after.max.ms), so a 2028 event can only carry today's
      what: "29 February 2028: a real leap day, but years ahead of its record",
      fate: "dead:future_timestamp",
      record: rec(event("2028-02-29T12:00:00.000Z"), B + 73_000),
    },
  );
  return cases;
}

Deno.test({
  name:
    "a hostile corpus: every record counted, late or dead-lettered with its reason; archive byte-exact",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const cases = corpus();
    assert.ok(cases.length >= 40, `${cases.length} records`);
    const base = testConfig();
    const db = await freshDatabase("hostile", base);
    const topic = await freshTopic(base, "hostile", 1);
    const config: Config = {
      ...db.config,
      clickTopic: topic,
      dlqTopic: `${topic}.dlq`,
      aggregatorGroup: uniqueName("hostile_agg"),
      archiverGroup: uniqueName("hostile_arch"),
      allowedLatenessMs: 5000,
      idleTimeoutMs: 1000,
      flushIntervalMs: 200,
      archiveMaxAgeMs: 500,
      kafkaSessionTimeoutMs: 6000,
    };
    const log = createLogger("hostile");
    const kafka = createKafkaClient(config, { clientSuffix: "hostile-test" });
    const producer = kafka.producer();
    const acks = await producer.send(topic, cases.map((c) => c.record));
    await producer.close();
    assert.deepEqual(acks.map((a) => [a.partition, a.baseOffset, a.count]), [[
      0,
      0n,
      cases.length,
    ]]);
    const t0 = performance.now();
    const agg = await createAggregator({ config, log: log.child("aggregator") });
    const arch = await createArchiver({ config, log: log.child("archiver") });
    try {
      // the checkpoint reaches the end offset within seconds: no record stalls the partition
      let checkpointMs = -1;
      for (let i = 0; i < 200 && checkpointMs < 0; i++) {
        const r = await db.sql<{ next_offset: string }[]>`
          select next_offset from consumer_checkpoints where topic = ${topic}`;
        if (r[0] && BigInt(r[0].next_offset) === BigInt(cases.length)) {
          checkpointMs = Math.round(performance.now() - t0);
        } else await sleep(100);
      }
      assert.ok(checkpointMs >= 0, "the checkpoint reached the end offset within 20 s");
      console.error(
        `[hostile] ${cases.length} records; checkpoint at the end offset after ${checkpointMs} ms`,
      );

      const want = { counted: 0, late: 0, dead: new Map<string, number>() };
      for (const c of cases) {
        if (c.fate === "counted") want.counted++;
        else if (c.fate === "late") want.late++;
        else want.dead.set(c.fate.slice(5), (want.dead.get(c.fate.slice(5)) ?? 0) + 1);
      }
      const counted = await db.sql<{ n: string }[]>`
        select coalesce(sum(event_count), 0)::bigint as n from action_counts_minute
         where topic = ${topic}`;
      const late = await db.sql<{ event_id: string; offset: string }[]>`
        select event_id, "offset"::text as offset from late_events where topic = ${topic}`;
      const deadRows = await db.sql<{ reason: string; records: string }[]>`
        select reason, records from dead_letters_total where topic = ${topic}`;
      const deadPg = new Map(deadRows.map((r) => [r.reason, Number(r.records)]));
      const rows = await db.sql<{ ws: Date; action: string; n: string }[]>`
        select window_start as ws, action, event_count as n from action_counts_minute
         where topic = ${topic} order by 1, 2`;
      assert.equal(
        Number(counted[0]!.n),
        want.counted,
        `counted: ${rows.map((r) => `${r.ws.toISOString()} ${r.action} ${r.n}`).join("; ")}; late ${
          JSON.stringify(late)
        }; dead ${JSON.stringify([...deadPg])}`,
      );
      assert.equal(late.length, want.late, "late ledger");
      assert.deepEqual(
        [...deadPg].sort(),
        [...want.dead].sort(),
        "dead letters per reason in PostgreSQL",
      );
      const deadTotal = [...deadPg.values()].reduce((a, b) => a + b, 0);
      assert.equal(Number(counted[0]!.n) + late.length + deadTotal, cases.length);

      // exact revenue, to the cent, including a 10^12-cent purchase
      const cents = cases.reduce((s, c) => s + (c.fate === "counted" ? c.cents ?? 0n : 0n), 0n);
      const rev = await db.sql<{ revenue: string | null }[]>`
        select sum(revenue)::text as revenue from revenue_minute where topic = ${topic}`;
      assert.equal(rev[0]!.revenue, `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`);

      // the 2099 view did not move the watermark: the views after it counted on time
      const wm = await db.sql<{ watermark: Date }[]>`
        select watermark from consumer_checkpoints where topic = ${topic}`;
      assert.ok(wm[0]!.watermark.getTime() < Date.UTC(2029, 0, 1), String(wm[0]!.watermark));

      // each dead letter in the DLQ with its reason and original offset
      const dlq = new Map<bigint, string>();
      await readTopic(kafka, config.dlqTopic, (b) => {
        for (const r of b.records) {
          const h = new Map((r.headers ?? []).map(([k, v]) => [k, dec.decode(v)]));
          dlq.set(BigInt(h.get(DLQ_HEADERS.offset)!), h.get(DLQ_HEADERS.reason)!);
        }
      });
      for (const [i, c] of cases.entries()) {
        if (!c.fate.startsWith("dead:")) continue;
        assert.equal(dlq.get(BigInt(i)), c.fate.slice(5), `${c.what} (offset ${i})`);
      }
      assert.equal(dlq.size, deadTotal);

      // the archive holds every record byte-exact, tombstone and garbage included
      await waitArchived(config, topic, 30_000);
      assertExactlyOnce(await readTopicRecords(config, topic), await readArchive(config, topic));
      console.error(
        `[hostile] ${want.counted} counted, ${want.late} late, ${deadTotal} dead letters (${
          [...want.dead].map(([k, v]) => `${k} ${v}`).join(", ")
        }); archive byte-exact`,
      );
    } finally {
      await arch.stop();
      await agg.stop();
      await db.drop();
    }
  },
});
