/**
 * Scale-out: three Nexus processes (`main.ts run --modules aggregator,archiver`) share one
 * consumer group per module over a 12-partition topic while a generated stream (late,
 * duplicate and malformed records included) is produced; one process is SIGKILLed, another
 * is added. At the end the aggregator's views + late ledger equal the manifest exactly, the
 * dead letters match it per kind, and the archive holds every record exactly once. The test
 * prints how long partitions stalled around the kill and the add (rebalance pauses, measured
 * on the aggregator's per-partition checkpoints in Postgres).
 *
 * Size: NEXUS_TEST_EVENTS (default 30000) produced over NEXUS_TEST_PRODUCE_SECONDS (default
 * 40). By hand: NEXUS_TEST_EVENTS=1000000 NEXUS_TEST_PRODUCE_SECONDS=120.
 */
import assert from "node:assert/strict";
import {
  assertExact,
  killAll,
  type NexusChild,
  nexusReady,
  produceLive,
  ProgressRecorder,
  scenario,
  sleep,
  spawnNexus,
  stopAllCleanly,
  topicEndOffsets,
} from "./fixtures/scale_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 30_000);
const PRODUCE_SECONDS = Number(Deno.env.get("NEXUS_TEST_PRODUCE_SECONDS") ?? 50);
const PARTITIONS = 12;

Deno.test({
  name:
    `scale-out: 3 processes over ${PARTITIONS} partitions, one killed, one added (${EVENTS} events)`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await scenario("scale_out", PARTITIONS);
    const children: NexusChild[] = [];
    let progress: ProgressRecorder | undefined;
    try {
      s.phase(`log file ${s.logFile}`);
      for (let i = 1; i <= 3; i++) children.push(spawnNexus(s, `nexus-${i}`));
      await Promise.all(children.map((c) => nexusReady(c)));
      s.phase("3 processes ready");
      // Event time follows the wall clock (idle partitions' watermarks follow it too).
      progress = new ProgressRecorder(s.db.sql, s.config, s.topic);
      const producing = (await produceLive(s, PRODUCE_SECONDS, {
        seed: 808,
        events: EVENTS,
        lateFraction: 0.03,
        maxLatenessMs: 30_000,
      }, 1000)).done;
      await sleep(PRODUCE_SECONDS * 150);
      const killAt = progress.now();
      const joinedBefore = children.map((c) =>
        c.lines.filter((l) => /group joined/.test(l)).length
      );
      children[1]!.signal("SIGKILL");
      await children[1]!.exited;
      s.phase("SIGKILLed nexus-2");
      // the survivors' aggregators rejoin once the group coordinator evicts the dead member
      const deadline = Date.now() + 90_000;
      while (
        Date.now() < deadline &&
        ![0, 2].every((i) =>
          children[i]!.lines.filter((l) => /group joined/.test(l)).length > joinedBefore[i]!
        )
      ) await sleep(200);
      s.phase("survivors rebalanced");
      await sleep(3000);
      const addAt = progress.now();
      const added = spawnNexus(s, "nexus-4");
      children.push(added);
      await nexusReady(added);
      s.phase("nexus-4 added and ready");
      const manifest = await producing;
      s.phase(`produced ${manifest.records} records`);
      const ends = await topicEndOffsets(s.config, s.topic);
      const result = await assertExact(s, manifest, ends, 180_000);
      const doneAt = progress.now();
      await progress.stop();
      const kill = progress.pauseAround(killAt, 5_000);
      const add = progress.pauseAround(addAt, 20_000);
      const stalls = progress.stalls(1000);
      s.phase(
        `exact: ${result.valid} valid, ${result.late} late, ${result.dead} dead letters, ` +
          `${result.records} records archived once in ${result.objects} objects; ` +
          `rebalance pause after SIGKILL ${kill.ms} ms (${kill.partitions} partitions), ` +
          `after adding a process ${add.ms} ms (${add.partitions} partitions); ` +
          `stalls > 1 s: ${stalls.length}; complete ${
            Math.round((doneAt - killAt) / 1000)
          } s after the kill`,
      );
      assert.ok(result.late > 0, "a window closed mid-stream, so some events arrived late");
      const alive = children.filter((c) => c !== children[1]);
      await stopAllCleanly(alive);
    } catch (e) {
      console.error(`[scale_out] child logs: ${s.logFile}`);
      throw e;
    } finally {
      await progress?.stop();
      await killAll(children);
      await s.cleanup();
    }
  },
});
