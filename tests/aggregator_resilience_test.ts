/**
 * The aggregator in a consumer group of two processes, one SIGKILLed mid-run; and a
 * PostgreSQL restart mid-run. Both end with views + late ledger equal to the manifest.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import type { Sql } from "../src/postgres/mod.ts";
import { startService, stopService } from "../stack/mod.ts";
import {
  freshDatabase,
  freshTopic,
  serviceRestartsAllowed,
  testConfig,
  uniqueName,
} from "./_support.ts";
import {
  childEnv,
  diffWithManifest,
  spawnChild,
  storedProgress,
  topicEnds,
  waitComplete,
} from "./fixtures/aggregator_support.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function setup(prefix: string, events: number) {
  const base = testConfig();
  const db = await freshDatabase(prefix, base);
  const topic = await freshTopic(base, prefix, 4);
  const config = {
    ...db.config,
    clickTopic: topic,
    dlqTopic: `${topic}.dlq`,
    aggregatorGroup: uniqueName(prefix),
    allowedLatenessMs: 5000,
    idleTimeoutMs: 1500,
    flushIntervalMs: 300,
    flushMaxEvents: 1000,
  };
  const params = defaultStreamParams({
    seed: 31,
    events,
    eventsPerSecond: 100,
    lateFraction: 0.03,
    maxLatenessMs: 30_000,
    duplicateFraction: 0.02,
    malformedFraction: 0.01,
  });
  const logFile = await Deno.makeTempFile({ prefix: `${prefix}_`, suffix: ".log" });
  return { db, topic, config, params, logFile };
}

/** Most events must be counted in their windows, not in the late ledger. */
async function assertMostlyOnTime(sql: Sql, valid: number) {
  const late = await sql<{ n: string }[]>`select count(*) as n from late_events`;
  assert(Number(late[0]!.n) < valid * 0.1, `too many late events: ${late[0]!.n} of ${valid}`);
}

Deno.test({
  name: "aggregator: two processes in one group, one SIGKILLed mid-run: exact results",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db, topic, config, params, logFile } = await setup("agg_pair", 20_000);
    const env = childEnv(config, { NEXUS_KAFKA_SESSION_TIMEOUT_MS: "6000" });
    // produce first: an aggregator idle on empty partitions would move its watermark to the
    // wall clock, making every event of this 2026-01-01 stream late
    const producing = produceStream(config, topic, params, { rate: 2000, batchSize: 200 });
    await sleep(500);
    const a = spawnChild(env, logFile);
    const b = spawnChild(env, logFile);
    try {
      await Promise.all([a.waitFor("AGG_READY", 60_000), b.waitFor("AGG_READY", 60_000)]);
      // wait until both own partitions and have written something, then kill one
      const until = Date.now() + 30_000;
      while (Date.now() < until && await storedProgress(db.sql, topic) < 4000) await sleep(200);
      await a.kill("SIGKILL");
      const manifest = await producing;
      const ends = await topicEnds(config, topic);
      await waitComplete(db.sql, topic, ends, 90_000);
      const epochs = await db.sql<{ e: string }[]>`
        select max(owner_epoch)::bigint as e from consumer_checkpoints`;
      assert(Number(epochs[0]!.e) >= 2, "the survivor must have claimed the dead one's partitions");
      b.proc.kill("SIGTERM");
      assertEquals((await b.exited).code, 0);
      assertEquals(await diffWithManifest(db.sql, topic, manifest), []);
      await assertMostlyOnTime(db.sql, manifest.valid);
    } catch (e) {
      console.error(`[agg_pair] child logs: ${logFile}`);
      throw e;
    } finally {
      await a.kill("SIGKILL");
      await b.kill("SIGKILL");
      await db.drop();
    }
  },
});

Deno.test({
  name: "aggregator: PostgreSQL restarted mid-run: no crash, exact results",
  // restarts the shared local Postgres: only against the local stack, and set
  // NEXUS_TEST_NO_RESTARTS=1 to skip it while other test runs share the stack
  ignore: !serviceRestartsAllowed(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { db, topic, config, params, logFile } = await setup("agg_pgrestart", 20_000);
    const producing = produceStream(config, topic, params, { rate: 2000, batchSize: 200 });
    await sleep(500);
    const child = spawnChild(childEnv(config), logFile);
    let restarted = false;
    try {
      await child.waitFor("AGG_READY", 60_000);
      const until = Date.now() + 30_000;
      while (Date.now() < until && await storedProgress(db.sql, topic) < 4000) await sleep(200);
      await stopService("postgres");
      restarted = true;
      await sleep(3000); // the aggregator keeps consuming and retries its flushes
      await startService("postgres");
      const manifest = await producing;
      const ends = await topicEnds(config, topic);
      await waitComplete(db.sql, topic, ends, 90_000);
      const log = await Deno.readTextFile(logFile);
      assert(/flush failed/.test(log), "the outage should have been noticed");
      assert(!/AGG_FAILED|child exited/.test(log), "the aggregator must not have died");
      child.proc.kill("SIGTERM");
      assertEquals((await child.exited).code, 0);
      assertEquals(await diffWithManifest(db.sql, topic, manifest), []);
      await assertMostlyOnTime(db.sql, manifest.valid);
    } catch (e) {
      console.error(`[agg_pgrestart] child logs: ${logFile}`);
      throw e;
    } finally {
      if (restarted) await startService("postgres").catch(() => {});
      await child.kill("SIGKILL");
      await db.drop();
    }
  },
});
