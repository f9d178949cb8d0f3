/**
 * A rebalance while an aggregator holds unflushed progress: it keeps a partition whose
 * in-memory position is far past the offset Kafka's group last committed (commits are only
 * for lag monitoring; here nothing was committed at all). After the rejoin a client may fetch
 * the kept partition from that committed offset again (kafkajs does; the platformatic adapter
 * keeps its own fetch position): the records the aggregator already holds must be dropped and
 * the partition sought back to its position, or the same batch is fetched forever and the
 * partition stalls while the process looks healthy (found by the 1M-event bad-input run: two
 * processes, one joining while the other caught up). Runs with whichever client
 * `NEXUS_KAFKA_CLIENT` selects.
 */
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { createAggregator } from "../src/aggregator/mod.ts";
import { createKafkaClient } from "../src/kafka/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { createSql } from "../src/postgres/mod.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import { topicEnds } from "./fixtures/aggregator_support.ts";
import { slowCommits } from "./fixtures/slow_commits.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 100 ms until it holds; false after `ms`. */
async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await sleep(100);
  }
  return cond();
}

Deno.test({
  name: "aggregator: a partition kept across a rebalance with unflushed progress keeps consuming",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const base = testConfig();
    const db = await freshDatabase("agg_rebalance", base);
    const topic = await freshTopic(base, "agg_rebalance", 2);
    const config = {
      ...db.config,
      clickTopic: topic,
      dlqTopic: `${topic}.dlq`,
      aggregatorGroup: uniqueName("agg_rebalance"),
      allowedLatenessMs: 5000,
      idleTimeoutMs: 600_000,
      flushIntervalMs: 200,
      flushMaxEvents: 3000,
      kafkaSessionTimeoutMs: 6000,
    };
    const stream = (seed: number) =>
      defaultStreamParams({
        seed,
        events: 30_000,
        lateFraction: 0,
        duplicateFraction: 0,
        malformedFraction: 0,
      });
    const first = await produceStream(config, topic, stream(1));
    // A's flushes fail until the rebalance is over (as during a Postgres hiccup): everything
    // it reads stays in memory, and the group's committed offsets stay at nothing. The hook
    // runs inside the flush transaction, so throwing rolls it back.
    let blockFlushes = true;
    const pool = createSql(config, { max: 4 });
    const a = await createAggregator({
      config: { ...config, flushMaxEvents: 10_000_000 },
      log: createLogger("aggregator-a"),
    }, {
      sql: slowCommits(pool, {
        sleepMs: 0,
        onHold: () => {
          // looks like PostgreSQL restarting: a transient failure the aggregator retries
          if (blockFlushes) {
            throw Object.assign(new Error("flushes blocked by the test"), { code: "57P01" });
          }
        },
      }),
    });
    let b: Awaited<ReturnType<typeof createAggregator>> | undefined;
    try {
      const ends1 = await topicEnds(config, topic);
      const offsetOf = (p: number) => Number(a.status().partitions?.[p]?.offset ?? -1);
      const readAll = await until(
        () => [...ends1].every(([p, end]) => offsetOf(p) === end),
        60_000,
      );
      assertEquals(readAll, true, "A read the first stream");
      b = await createAggregator({ config, log: createLogger("aggregator-b") });
      const split = await until(
        () => Object.keys(a.status().partitions ?? {}).length === 1,
        60_000,
      );
      assertEquals(split, true, "the rebalance left A one partition");
      const kept = Number(Object.keys(a.status().partitions!)[0]);
      // the premise: Kafka's committed offset of the kept partition is behind A's position
      const admin = createKafkaClient(config, { clientSuffix: "test-admin" }).admin();
      try {
        const committed = await admin.committedOffsets(config.aggregatorGroup, topic);
        assertEquals(committed.get(kept), undefined, `nothing committed for partition ${kept}`);
      } finally {
        await admin.close();
      }
      assertEquals(offsetOf(kept), ends1.get(kept), `A still holds partition ${kept} in memory`);
      blockFlushes = false;
      const second = await produceStream(config, topic, stream(2));
      const ends2 = await topicEnds(config, topic);
      const caughtUp = await until(() => offsetOf(kept) === ends2.get(kept), 60_000);
      assertEquals(
        caughtUp,
        true,
        `A kept partition ${kept} and reads on past ${ends1.get(kept)} (at ${offsetOf(kept)} of ${
          ends2.get(kept)
        })`,
      );
      const other = [...ends2.keys()].find((p) => p !== kept)!;
      const bDone = await until(
        () => Number(b!.status().partitions?.[other]?.offset ?? -1) === ends2.get(other),
        60_000,
      );
      assertEquals(bDone, true, `B read partition ${other} to its end`);
      await Promise.all([a.stop(), b.stop()]);
      const counted = await db.sql<{ n: string }[]>`
        select (select coalesce(sum(event_count), 0) from action_counts_minute)
             + (select count(*) from late_events) as n`;
      assertEquals(Number(counted[0]!.n), first.valid + second.valid);
    } finally {
      await a.stop();
      await b?.stop();
      await pool.end({ timeout: 2 });
      await db.drop();
    }
  },
});
