/**
 * A generated stream with late, duplicate and malformed records → aggregator → the Postgres
 * views + late ledger equal the generator's manifest exactly; the DLQ holds every malformed
 * record with its reason; `rebuild` agrees with the live tables.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { createAggregator } from "../src/aggregator/mod.ts";
import { rebuildCommand } from "../src/aggregator/rebuild.ts";
import { VALUE_MALFORMED_KINDS } from "../src/events/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import {
  deadLetterCounts,
  diffWithManifest,
  nonZero,
  readDlq,
  topicEnds,
  waitComplete,
} from "./fixtures/aggregator_support.ts";

Deno.test({
  name: "aggregator: views + late ledger equal the manifest; DLQ holds every malformed record",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const base = testConfig();
    const db = await freshDatabase("agg_exact", base);
    const topic = await freshTopic(base, "agg_exact", 3);
    const config = {
      ...db.config,
      clickTopic: topic,
      dlqTopic: `${topic}.dlq`,
      aggregatorGroup: uniqueName("agg_exact"),
      allowedLatenessMs: 5000,
      idleTimeoutMs: 1000,
      flushIntervalMs: 200,
      flushMaxEvents: 3000,
    };
    const params = defaultStreamParams({
      seed: 11,
      eventsPerSecond: 50,
      events: Number(Deno.env.get("NEXUS_TEST_EXACT_EVENTS") ?? 20_000),
      lateFraction: 0.05,
      maxLatenessMs: 30_000,
      duplicateFraction: 0.03,
      malformedFraction: 0.02,
    });
    const t0 = performance.now();
    const phase = (what: string) =>
      console.error(`[agg_exact] ${what} at ${Math.round(performance.now() - t0)} ms`);
    const manifest = await produceStream(config, topic, params);
    phase(`produced ${manifest.records} records`);
    assert(
      manifest.duplicates > 0 && VALUE_MALFORMED_KINDS.every((k) => manifest.malformed[k] > 0),
    );
    const ends = await topicEnds(config, topic);
    const agg = await createAggregator({ config, log: createLogger("aggregator") });
    try {
      await waitComplete(db.sql, topic, ends, 90_000);
      phase("aggregated: every checkpoint at its end offset");
      const st = agg.status();
      assertEquals(st.eventsIn, manifest.records);
      assertEquals(st.deadLettered, Object.values(manifest.malformed).reduce((a, b) => a + b, 0));
    } finally {
      await agg.stop();
    }
    assertEquals(await diffWithManifest(db.sql, topic, manifest), []);
    const late = await db.sql<{ n: string }[]>`select count(*) as n from late_events`;
    assert(Number(late[0]!.n) > 0, "some events must be late");
    assert(Number(late[0]!.n) < manifest.valid * 0.1, "most events must be on time");
    const bad = await db.sql<{ n: string }[]>`
      select count(*) as n from late_events where lateness_ms < 0 or watermark < window_end`;
    assertEquals(Number(bad[0]!.n), 0);
    assertEquals(await deadLetterCounts(db.sql, topic), nonZero(manifest.malformed));
    const malformed = Object.values(manifest.malformed).reduce((a, b) => a + b, 0);
    const dlq = await readDlq(config, config.dlqTopic, malformed);
    phase("DLQ read");
    assertEquals(dlq.distinct, malformed);
    assertEquals(nonZero(dlq.byReason), nonZero(manifest.malformed));
    assertEquals(dlq.missingHeaders, 0);
    // the rebuild command recomputes from Kafka and agrees
    const out: string[] = [];
    const origLog = console.log;
    console.log = (...a: unknown[]) => out.push(a.join(" "));
    let code: number;
    try {
      code = await rebuildCommand.run(["--schema", "agg_rebuild_test"], {
        config,
        log: createLogger("rebuild"),
      });
    } finally {
      console.log = origLog;
    }
    phase("rebuild done");
    assertEquals(code, 0, out.join("\n"));
    assert(out.some((l) => l.startsWith("OK")));
    // and it notices a tampered live table
    await db.sql`update window_partials set event_count = event_count + 1
      where ctid = (select ctid from window_partials limit 1)`;
    console.log = () => {};
    try {
      code = await rebuildCommand.run([], { config, log: createLogger("rebuild") });
    } finally {
      console.log = origLog;
    }
    assertEquals(code, 1);
    await db.drop();
  },
});
