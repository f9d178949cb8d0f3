/**
 * Bad input at volume: 1 % malformed records of every kind (not JSON, missing field, wrong
 * type, unknown action, bad timestamp, wrong schema version, oversized) spread across the
 * stream, plus duplicates and late events. Every malformed record lands in the dead-letter
 * topic with its reason (read back and compared per kind with the manifest), Postgres counts
 * the same, every valid event is counted exactly once, and the archive holds every record.
 *
 * Size: NEXUS_TEST_EVENTS (default 50000). By hand: NEXUS_TEST_EVENTS=1000000.
 */
import assert from "node:assert/strict";
import { VALUE_MALFORMED_KINDS } from "../src/events/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import {
  assertExact,
  childReport,
  killAll,
  type NexusChild,
  nexusReady,
  scenario,
  spawnNexus,
  stopAllCleanly,
  topicEndOffsets,
} from "./fixtures/scale_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 50_000);

Deno.test({
  name: `bad input: 1 % malformed of every kind, all dead-lettered with reasons (${EVENTS} events)`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await scenario("bad_input", 6, undefined, {
      NEXUS_FLUSH_MAX_EVENTS: "20000",
      NEXUS_ARCHIVE_MAX_RECORDS: String(Math.max(5000, Math.floor(EVENTS / 20))),
    });
    const children: NexusChild[] = [];
    try {
      const t0 = performance.now();
      const manifest = await produceStream(
        s.config,
        s.topic,
        defaultStreamParams({
          seed: 71,
          events: EVENTS,
          eventsPerSecond: 1000,
          lateFraction: 0.02,
          maxLatenessMs: 20_000,
          duplicateFraction: 0.02,
          malformedFraction: 0.01,
        }),
        { batchSize: 5000 },
      );
      const produceMs = performance.now() - t0;
      for (const kind of VALUE_MALFORMED_KINDS) {
        assert.ok(manifest.malformed[kind] > 0, `the stream has ${kind} records`);
      }
      s.phase(`produced ${manifest.records} records in ${Math.round(produceMs)} ms`);
      // consumers start on a full topic of historical events (not a live stream: idle
      // partitions follow the topic's event time, never the wall clock)
      children.push(spawnNexus(s, "nexus-1"), spawnNexus(s, "nexus-2"));
      await Promise.all(children.map((c) => nexusReady(c)));
      const ends = await topicEndOffsets(s.config, s.topic);
      const t1 = performance.now();
      const r = await assertExact(s, manifest, ends, 600_000);
      const secs = (performance.now() - t1) / 1000;
      s.phase(
        `exact: ${r.valid} valid counted once, ${r.late} late, ${r.dead} dead letters ` +
          `(${
            VALUE_MALFORMED_KINDS.map((k) => `${k} ${manifest.malformed[k]}`).join(", ")
          }) all in the DLQ with their reason; ${r.records} records archived once; ` +
          `consumed + verified in ${secs.toFixed(1)} s`,
      );
      await stopAllCleanly(children);
    } catch (e) {
      console.error(`[bad_input] child logs: ${s.logFile}\n${childReport(children)}`);
      throw e;
    } finally {
      await killAll(children);
      await s.cleanup();
    }
  },
});
