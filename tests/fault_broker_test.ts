/**
 * Fault: a broker of the local 3-broker cluster (RF 3, min.insync.replicas 2) is SIGKILLed
 * mid-run while the generator produces with acks=all and two Nexus processes consume;
 * leadership moves to the survivors, the broker is restarted after production, and the results are
 * exact (views + late ledger = manifest, dead letters = manifest, archive = topic exactly
 * once). Starts the cluster (`stack up --cluster`) if needed and stops it again afterwards
 * if it was not running. Runs only on the local stack.
 *
 * The stream has no late events of its own, so every event in the late ledger was turned late
 * by the failover. Twice: with the default event-time settings (allowed lateness 60 s, idle
 * timeout 30 s) none may be; with the tests' short ones (5 s, 1.5 s) the figure is reported.
 *
 * Size: NEXUS_TEST_EVENTS (default 20000) over NEXUS_TEST_PRODUCE_SECONDS (default 30).
 */
import assert from "node:assert/strict";
import { createKafkaClient } from "../src/kafka/mod.ts";
import {
  clusterBrokers,
  clusterNodeStatus,
  clusterStackUp,
  startClusterNode,
  stopCluster,
  stopClusterNode,
} from "../stack/mod.ts";
import { serviceRestartsAllowed, testConfig } from "./_support.ts";
import {
  assertExact,
  childReport,
  killAll,
  nexusReady,
  produceLive,
  scenario,
  sleep,
  spawnNexus,
  stopAllCleanly,
  topicEndOffsets,
} from "./fixtures/scale_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 20_000);
const PRODUCE_SECONDS = Number(Deno.env.get("NEXUS_TEST_PRODUCE_SECONDS") ?? 30);

const DEFAULT_TIMING = { NEXUS_ALLOWED_LATENESS_MS: "60000", NEXUS_IDLE_TIMEOUT_MS: "30000" };

/** One broker kill; resolves to the number of events the failover turned late. */
async function brokerKill(timing: "default" | "short"): Promise<number> {
  const quiet = { log: () => {} };
  {
    const base = testConfig({ "kafka-brokers": clusterBrokers(Deno.env.toObject()) });
    const s = await scenario(
      `fault_broker_${timing}`,
      6,
      base,
      timing === "default" ? DEFAULT_TIMING : {},
    );
    const admin = createKafkaClient(base, { clientSuffix: "test-admin" }).admin();
    const children = [spawnNexus(s, "nexus-1"), spawnNexus(s, "nexus-2")];
    let killed: number | undefined;
    try {
      const layout = await admin.partitionLeaders(s.topic);
      assert.equal(layout.size, 6, "every partition described");
      for (const p of layout.values()) assert.equal(p.replicas.length, 3, "RF 3");
      await Promise.all(children.map((c) => nexusReady(c)));
      s.phase("cluster and 2 processes ready");
      const producing = (await produceLive(s, PRODUCE_SECONDS, {
        seed: 31,
        events: EVENTS,
        lateFraction: 0,
      })).done;
      await sleep(PRODUCE_SECONDS * 300);
      // kill the broker leading most of the topic's partitions
      const leaders = [...(await admin.partitionLeaders(s.topic)).values()].map((p) => p.leader);
      const counts = [1, 2, 3].map((id) => leaders.filter((l) => l === id).length);
      killed = counts.indexOf(Math.max(...counts)) + 1;
      await stopClusterNode(killed, { kill: true, ...quiet });
      s.phase(`SIGKILLed kafka-${killed} (leader of ${counts[killed - 1]} partitions)`);
      let moved = false;
      for (let i = 0; i < 60 && !moved; i++) {
        await sleep(500);
        const now = await admin.partitionLeaders(s.topic).catch(() => undefined);
        moved = !!now && now.size === 6 &&
          [...now.values()].every((p) => p.leader !== killed && p.leader >= 0);
      }
      assert.ok(moved, "leadership moved to the surviving brokers");
      s.phase("leadership moved");
      const manifest = await producing;
      s.phase(`produced ${manifest.records} records with kafka-${killed} down, none lost`);
      // Restored after production, so leadership moves once while producing. (Before the
      // generator sent one request per partition, a move could end it with
      // OUT_OF_ORDER_SEQUENCE_NUMBER: see src/generator/produce.ts.)
      await startClusterNode(killed, quiet);
      s.phase(`kafka-${killed} restarted`);
      killed = undefined;
      // Right after a leadership change a leader's high watermark can briefly lag behind.
      let ends = await topicEndOffsets(s.config, s.topic);
      const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);
      for (let i = 0; i < 60 && sum(ends) !== manifest.records; i++) {
        await sleep(500);
        ends = await topicEndOffsets(s.config, s.topic).catch(() => ends);
      }
      assert.equal(sum(ends), manifest.records, "the topic holds exactly what was produced");
      const r = await assertExact(s, manifest, ends, 180_000);
      s.phase(
        `exact: ${r.valid} valid, ${r.late} turned late by the failover (${timing} event-time ` +
          `settings), ${r.dead} dead letters, ${r.records} records archived once; lost 0`,
      );
      await stopAllCleanly(children);
      return r.late;
    } catch (e) {
      console.error(`[fault_broker] child logs: ${s.logFile}\n${childReport(children)}`);
      throw e;
    } finally {
      await killAll(children);
      await admin.close().catch(() => {});
      if (killed !== undefined) await startClusterNode(killed, quiet).catch(() => {});
      await s.cleanup();
    }
  }
}

Deno.test({
  name: `fault: a broker of a 3-broker cluster SIGKILLed mid-run, exact results (${EVENTS} events)`,
  ignore: !serviceRestartsAllowed(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn(t) {
    const wasRunning = (await clusterNodeStatus()).every((n) => n.running);
    await clusterStackUp();
    try {
      await t.step(
        "with the default event-time settings, no on-time event turns late",
        async () => {
          assert.equal(await brokerKill("default"), 0);
        },
      );
      await t.step("with the tests' short settings (reported)", async () => {
        const late = await brokerKill("short");
        console.error(`[fault_broker] short settings: ${late} of ${EVENTS} events turned late`);
      });
    } finally {
      if (!wasRunning) await stopCluster({ log: () => {} });
    }
  },
});
