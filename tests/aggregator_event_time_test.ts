/**
 * The aggregator's event-time rules against hostile clocks and quiet streams
 * (docs/aggregator.md "Event time"):
 * (a) a view stamped 2099 among on-time views is dead-lettered `future_timestamp`, and the views
 *     after it still count on time;
 * (b) ten minutes of January 2026 events produced in three bursts separated by twice the idle
 *     timeout: no event is late (idle partitions follow the topic's event time, not the clock);
 * (d) a quiet live stream's last windows become final within idle timeout + allowed lateness +
 *     2 s of their end (the wall clock closes them, because the stream is live).
 */
import assert from "node:assert/strict";
import { createAggregator } from "../src/aggregator/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createKafkaClient, type OutRecord } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import {
  freshDatabase,
  freshTopic,
  testConfig,
  type TestDatabase,
  uniqueName,
} from "./_support.ts";
import {
  deadLetterCounts,
  diffWithManifest,
  topicEnds,
  waitComplete,
} from "./fixtures/aggregator_support.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const enc = new TextEncoder();

async function setup(name: string, partitions: number, over: Partial<Config> = {}) {
  const base = testConfig();
  const db = await freshDatabase(name, base);
  const topic = await freshTopic(base, name, partitions);
  const config: Config = {
    ...db.config,
    clickTopic: topic,
    dlqTopic: `${topic}.dlq`,
    aggregatorGroup: uniqueName(name),
    allowedLatenessMs: 5000,
    idleTimeoutMs: 1500,
    flushIntervalMs: 200,
    kafkaSessionTimeoutMs: 6000,
    ...over,
  };
  return { db, topic, config };
}

async function lateCount(db: TestDatabase, topic: string): Promise<number> {
  const r = await db.sql<{ n: string }[]>`
    select count(*) as n from late_events where topic = ${topic}`;
  return Number(r[0]!.n);
}

Deno.test({
  name: "(a) a view stamped 2099 is dead-lettered and the on-time views around it count on time",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db, topic, config } = await setup("evt_2099", 1);
    const B = Date.UTC(2026, 2, 1, 10, 0, 0);
    const view = (i: number, t: number): OutRecord => ({
      key: "u1",
      partition: 0,
      timestamp: B + 30_000,
      value: enc.encode(JSON.stringify({
        schema_version: 1,
        event_id: `v${i}`,
        user_id: "u1",
        session_id: "s1",
        product_id: "p1",
        action: "view",
        timestamp: new Date(t).toISOString(),
      })),
    });
    const records = Array.from({ length: 30 }, (_, i) => view(i, B + i * 1000));
    records.splice(5, 0, view(99, Date.UTC(2099, 0, 1)));
    const producer = createKafkaClient(config).producer();
    await producer.send(topic, records);
    await producer.close();
    const agg = await createAggregator({ config, log: createLogger("evt_2099") });
    try {
      await waitComplete(db.sql, topic, await topicEnds(config, topic), 30_000);
    } finally {
      await agg.stop();
    }
    const counted = await db.sql<{ n: string }[]>`
      select coalesce(sum(event_count), 0) as n from action_counts_minute where topic = ${topic}`;
    const late = await lateCount(db, topic);
    const dead = await deadLetterCounts(db.sql, topic);
    console.error(
      `[event_time] (a) ${counted[0]!.n} of 30 on-time views counted, ${late} late; dead letters ${
        JSON.stringify(dead)
      }`,
    );
    assert.equal(Number(counted[0]!.n), 30);
    assert.equal(late, 0);
    assert.deepEqual(dead, { future_timestamp: 1 });
    await db.drop();
  },
});

Deno.test({
  name: "(b) ten minutes of January events in three bursts, two idle timeouts apart: none late",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db, topic, config } = await setup("evt_bursts", 3);
    const p = defaultStreamParams({
      seed: 77,
      events: 6000,
      eventsPerSecond: 10, // 6000 events over 600 s of event time: ten minutes
      start: "2026-01-15T08:00:00.000Z",
      lateFraction: 0,
      duplicateFraction: 0.01,
      malformedFraction: 0.01,
    });
    const agg = await createAggregator({ config, log: createLogger("evt_bursts") });
    const t0 = performance.now();
    try {
      // one generated stream, sent in three bursts with pauses of 2 × idle timeout between
      const all = await collect(p);
      const third = Math.ceil(all.length / 3);
      const producer = createKafkaClient(config).producer();
      for (let b = 0; b < 3; b++) {
        await producer.send(topic, all.slice(b * third, (b + 1) * third));
        if (b < 2) await sleep(2 * config.idleTimeoutMs + 500);
      }
      await producer.close();
      const manifest = await produceManifest(p);
      await waitComplete(db.sql, topic, await topicEnds(config, topic), 60_000);
      const late = await lateCount(db, topic);
      console.error(
        `[event_time] (b) ${manifest.valid} events of 2026-01-15 08:00-08:10 in 3 bursts ${
          2 * config.idleTimeoutMs + 500
        } ms apart: ${late} late (${Math.round(performance.now() - t0)} ms)`,
      );
      assert.equal(late, 0, "no event turned late by the pauses");
      assert.deepEqual(await diffWithManifest(db.sql, topic, manifest), []);
    } finally {
      await agg.stop();
      await db.drop();
    }
  },
});

Deno.test({
  name: "(d) a quiet live stream's last windows become final within idle + lateness + 2 s",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db, topic, config } = await setup("evt_quiet", 3, {
      allowedLatenessMs: 2000,
      idleTimeoutMs: 1500,
    });
    const agg = await createAggregator({ config, log: createLogger("evt_quiet") });
    try {
      // a few seconds of live events ending just before a minute boundary
      const now = Date.now();
      const boundary = Math.ceil((now + 6000) / 60_000) * 60_000;
      await sleep(Math.max(0, boundary - 4000 - now));
      const p = defaultStreamParams({
        seed: 5,
        events: 300,
        eventsPerSecond: 100,
        start: new Date().toISOString(),
        lateFraction: 0,
        duplicateFraction: 0,
        malformedFraction: 0,
      });
      await produceStream(config, topic, p, { rate: 100, stream: { clock: () => Date.now() } });
      await waitComplete(db.sql, topic, await topicEnds(config, topic), 10_000);
      const lastEnd = await lastWindowEnd(db, topic, 10_000);
      const deadline = lastEnd + config.idleTimeoutMs + config.allowedLatenessMs + 2000;
      let finalAt: number | undefined;
      while (Date.now() < deadline + 10_000) {
        const open = await db.sql<{ n: string }[]>`
          select count(*) as n from action_counts_minute where topic = ${topic} and not is_final`;
        if (Number(open[0]!.n) === 0) {
          finalAt = Date.now();
          break;
        }
        await sleep(100);
      }
      assert.ok(finalAt !== undefined, "the last windows became final");
      const after = finalAt - lastEnd;
      console.error(
        `[event_time] (d) last window ended at ${
          new Date(lastEnd).toISOString()
        }; final ${after} ms later (bound ${
          config.idleTimeoutMs + config.allowedLatenessMs + 2000
        } ms = idle + lateness + 2 s)`,
      );
      assert.ok(finalAt <= deadline, `final ${after} ms after the window end`);
      assert.equal(await lateCount(db, topic), 0);
    } finally {
      await agg.stop();
      await db.drop();
    }
  },
});

/** The generated records of `p` as port records (partitioned by key). */
async function collect(p: ReturnType<typeof defaultStreamParams>): Promise<OutRecord[]> {
  const { generateStream } = await import("../src/generator/mod.ts");
  const out: OutRecord[] = [];
  for (const r of generateStream(p)) out.push({ key: r.key, value: r.value });
  return out;
}

/** The manifest of `p` (what an unsplit send of the same stream would have produced). */
async function produceManifest(p: ReturnType<typeof defaultStreamParams>) {
  const { computeManifest } = await import("../src/generator/mod.ts");
  return computeManifest(p);
}

/** The end of the latest window the aggregator has stored for `topic`. */
async function lastWindowEnd(db: TestDatabase, topic: string, timeoutMs: number) {
  const until = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < until) {
    const r = await db.sql<{ end: Date | null }[]>`
      select max(window_end) as end from action_counts_minute where topic = ${topic}`;
    last = r[0]?.end?.getTime() ?? 0;
    if (last > 0) break;
    await sleep(100);
  }
  assert.ok(last > 0, "windows were written");
  return last;
}
