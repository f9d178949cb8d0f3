/**
 * Exactly-once under SIGKILL: the aggregator runs as a child process and is killed at
 * random moments (at least one inside the Postgres flush transaction), restarted each time;
 * the final views + late ledger equal the manifest exactly. Size: NEXUS_TEST_EVENTS
 * (default 50000), produced while the kills happen over NEXUS_TEST_PRODUCE_SECONDS (default
 * 60); kills: NEXUS_TEST_KILLS (default 10).
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import {
  childEnv,
  deadLetterCounts,
  diffWithManifest,
  nonZero,
  spawnChild,
  storedProgress,
  topicEnds,
  waitComplete,
} from "./fixtures/aggregator_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 50_000);
const KILLS = Number(Deno.env.get("NEXUS_TEST_KILLS") ?? 10);
const PRODUCE_SECONDS = Number(Deno.env.get("NEXUS_TEST_PRODUCE_SECONDS") ?? 60);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name:
    `aggregator: ${KILLS} SIGKILLs (some inside the Postgres transaction) and restarts, exact results (${EVENTS} events)`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    const phase = (what: string) =>
      console.error(`[agg_kill] ${what} at ${Math.round(performance.now() - t0)} ms`);
    const base = testConfig();
    const db = await freshDatabase("agg_kill", base);
    const logFile = await Deno.makeTempFile({ prefix: "agg_kill_", suffix: ".log" });
    try {
      const topic = await freshTopic(base, "agg_kill", 3);
      const config = {
        ...db.config,
        clickTopic: topic,
        dlqTopic: `${topic}.dlq`,
        aggregatorGroup: uniqueName("agg_kill"),
        allowedLatenessMs: 5000,
        idleTimeoutMs: 1500,
        flushIntervalMs: 300,
        flushMaxEvents: 1500,
      };
      const params = defaultStreamParams({
        seed: 23,
        events: EVENTS,
        eventsPerSecond: 100,
        lateFraction: 0.03,
        maxLatenessMs: 30_000,
        duplicateFraction: 0.02,
        malformedFraction: 0.01,
      });
      // produce while the aggregator is being killed, spread over ~PRODUCE_SECONDS
      let sent = 0;
      const producing = produceStream(config, topic, params, {
        rate: Math.ceil(EVENTS * 1.04 / PRODUCE_SECONDS),
        batchSize: 500,
        onProgress: (n) => sent = n,
      });
      producing.catch(() => {});
      await sleep(500); // see aggregator_resilience_test: never start idle on empty partitions
      const env = childEnv(config, {
        NEXUS_TEST_TXN_SLEEP_MS: "400",
        NEXUS_TEST_TXN_EVERY: "4",
        NEXUS_KAFKA_SESSION_TIMEOUT_MS: "6000",
      });
      let inTxnKills = 0;
      for (let k = 0; k < KILLS; k++) {
        const child = spawnChild(env, logFile);
        const inTxn = k % 3 === 1;
        try {
          if (inTxn) {
            const line = await child.waitFor("AGG_TXN_HOOK", 60_000);
            await sleep(50 + Math.random() * 200);
            await child.kill("SIGKILL");
            inTxnKills++;
            phase(`kill ${k + 1} inside transaction (${line.trim().split(" ").pop()})`);
          } else {
            await child.waitFor("AGG_READY", 60_000);
            const delay = Math.random() * 5000;
            await sleep(delay);
            await child.kill("SIGKILL");
            phase(`kill ${k + 1} ${Math.round(delay)} ms after ready`);
          }
        } finally {
          await child.kill("SIGKILL");
        }
        phase(`stored progress ${await storedProgress(db.sql, topic)}, produced ${sent}`);
      }
      assert(inTxnKills >= 1);
      const manifest = await producing;
      const ends = await topicEnds(config, topic);
      phase(`produced ${manifest.records} records`);
      const last = spawnChild(childEnv(config), logFile);
      try {
        await last.waitFor("AGG_READY", 60_000);
        await waitComplete(db.sql, topic, ends, 120_000);
        phase("complete");
        last.proc.kill("SIGTERM");
        assertEquals((await last.exited).code, 0);
      } finally {
        await last.kill("SIGKILL");
      }
      assertEquals(await diffWithManifest(db.sql, topic, manifest), []);
      assertEquals(await deadLetterCounts(db.sql, topic), nonZero(manifest.malformed));
      const late = await db.sql<{ n: string }[]>`select count(*) as n from late_events`;
      assert(Number(late[0]!.n) < manifest.valid * 0.1, `too many late: ${late[0]!.n}`);
      phase(`exact: ${manifest.valid} valid events, ${late[0]!.n} late`);
    } catch (e) {
      console.error(`[agg_kill] child logs: ${logFile}`);
      throw e;
    } finally {
      await db.drop();
    }
  },
});
