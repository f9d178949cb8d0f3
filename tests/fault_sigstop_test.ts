/**
 * Fault: a Nexus process (aggregator + archiver, group session timeout 6 s) is frozen with
 * SIGSTOP for longer than its session timeout while the stream is produced, so the group
 * hands its partitions to the other process; then it is resumed with SIGCONT. The zombie must
 * not overwrite newer progress: the aggregator's compare-and-set on consumer_checkpoints
 * rejects its writes (its "fenced" log line is looked for and reported) and the archive's
 * ledger keeps objects from overlapping. Results are exact.
 *
 * Size: NEXUS_TEST_EVENTS (default 20000) over NEXUS_TEST_PRODUCE_SECONDS (default 25).
 */
import assert from "node:assert/strict";
import {
  assertExact,
  childReport,
  killAll,
  nexusReady,
  ownedPartitions,
  produceLive,
  scenario,
  sleep,
  spawnNexus,
  stopAllCleanly,
  topicEndOffsets,
} from "./fixtures/scale_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 20_000);
const PRODUCE_SECONDS = Number(Deno.env.get("NEXUS_TEST_PRODUCE_SECONDS") ?? 25);
const SESSION_MS = 6000;
const FREEZE_MS = 15_000;

Deno.test({
  name:
    `fault: a process frozen (SIGSTOP) past its session timeout, then resumed; exact (${EVENTS} events)`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await scenario("fault_sigstop", 6);
    const env = { NEXUS_KAFKA_SESSION_TIMEOUT_MS: String(SESSION_MS) };
    const children = [
      spawnNexus(s, "zombie", { env }),
      spawnNexus(s, "healthy", { env }),
    ];
    const [zombie, healthy] = children as [typeof children[0], typeof children[0]];
    try {
      await Promise.all(children.map((c) => nexusReady(c)));
      s.phase("2 processes ready");
      const producing = (await produceLive(s, PRODUCE_SECONDS, {
        seed: 59,
        events: EVENTS,
      })).done;
      await sleep(PRODUCE_SECONDS * 250);
      zombie.signal("SIGSTOP");
      s.phase(`SIGSTOP zombie for ${FREEZE_MS} ms (session timeout ${SESSION_MS} ms)`);
      const before = ownedPartitions(healthy).size;
      await sleep(FREEZE_MS);
      const took = before < 6 && ownedPartitions(healthy).size === 6;
      zombie.signal("SIGCONT");
      s.phase(`SIGCONT zombie (healthy process took over its partitions: ${took})`);
      assert.ok(took, "the healthy process took every partition while the zombie was frozen");
      const manifest = await producing;
      s.phase(`produced ${manifest.records} records`);
      const ends = await topicEndOffsets(s.config, s.topic);
      const r = await assertExact(s, manifest, ends, 180_000);
      const fenced = zombie.lines.filter((l) => /fenced/i.test(l));
      s.phase(
        `exact: ${r.valid} valid, ${r.late} late, ${r.dead} dead letters, ${r.records} records ` +
          `archived once; zombie writes rejected (fenced log lines): ${fenced.length}` +
          (fenced[0] ? ` e.g. ${fenced[0].slice(0, 200)}` : ""),
      );
      await stopAllCleanly(children);
    } catch (e) {
      console.error(`[fault_sigstop] child logs: ${s.logFile}\n${childReport(children)}`);
      throw e;
    } finally {
      for (const c of children) c.signal("SIGCONT");
      await killAll(children);
      await s.cleanup();
    }
  },
});
