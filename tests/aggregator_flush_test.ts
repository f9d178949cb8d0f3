/**
 * When the aggregator's results reach PostgreSQL once a partition has read to the log end: the
 * end of a catch-up is stored at once, while records trickling in afterwards wait for the
 * caught-up spacing (`NEXUS_CAUGHT_UP_FLUSH_MS`). Small fetches make the catch-up span many
 * batches; a long spacing, interval and size bound make any other flush visible as a delay.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createAggregator } from "../src/aggregator/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import { storedProgress, topicEnds } from "./fixtures/aggregator_support.ts";

const SPACING_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs: number) {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

Deno.test({
  name:
    "aggregator: a catch-up is stored as soon as it reaches the log end; a trickle after it waits for the caught-up spacing",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const base = testConfig();
    const db = await freshDatabase("agg_flush", base);
    const topic = await freshTopic(base, "agg_flush", 1);
    const config = {
      ...db.config,
      clickTopic: topic,
      dlqTopic: `${topic}.dlq`,
      aggregatorGroup: uniqueName("agg_flush"),
      caughtUpFlushMs: SPACING_MS,
      flushIntervalMs: 600_000,
      flushMaxEvents: 10_000_000,
      // ~10 records per fetch: the catch-up below takes hundreds of fetches
      kafkaFetchPartitionBytes: 2048,
      kafkaFetchMaxBytes: 2048,
    };
    const params = defaultStreamParams({
      seed: 5,
      events: 3000,
      eventsPerSecond: 1000,
      lateFraction: 0,
      duplicateFraction: 0,
      malformedFraction: 0,
    });
    const manifest = await produceStream(config, topic, params);
    const end = (await topicEnds(config, topic)).get(0)!;
    assertEquals(end, manifest.records);
    const t0 = performance.now();
    const agg = await createAggregator({ config, log: createLogger("aggregator") });
    try {
      const position = () => Number(agg.status().partitions?.["0"]?.offset ?? -1);
      await until(
        "the catch-up stored",
        async () => await storedProgress(db.sql, topic) >= end,
        SPACING_MS,
      );
      const storedMs = performance.now() - t0;
      console.error(
        `[agg_flush] ${end} records caught up and stored ${storedMs.toFixed(0)} ms after the start`,
      );
      // without the rule the partition's first flush waits SPACING_MS from its open
      assert(storedMs < SPACING_MS / 2, `stored after ${storedMs.toFixed(0)} ms`);

      // one more record: the partition is caught up, so it is not flushed at once
      await produceStream(config, topic, { ...params, seed: 6, events: 1 });
      await until("the new record processed", () => position() >= end + 1, 10_000);
      await sleep(1000);
      assertEquals(
        await storedProgress(db.sql, topic),
        end,
        "a trickle record was flushed at once",
      );
    } finally {
      await agg.stop();
    }
    // stopping flushes it
    assertEquals(await storedProgress(db.sql, topic), end + 1);
    await db.drop();
  },
});
