/**
 * Scale-out: three Nexus processes (`main.ts run --modules aggregator,archiver`, each with its
 * own NEXUS_INSTANCE_ID) share one consumer group per module over a 12-partition topic while
 * a generated stream (late, duplicate and malformed records included) is produced.
 *
 * 1. A fourth process joins. With cooperative rebalancing the partitions that do not move keep
 *    progressing: the test reports (and loosely asserts) the longest gap in their stored
 *    progress (the aggregator's checkpoints in PostgreSQL) while the group rebalances.
 * 2. One process is SIGKILLed and restarted at once with the same NEXUS_INSTANCE_ID (static
 *    membership): it takes its own partitions back without a rebalance, so nobody else's
 *    partitions move; the test reports how long after its start they progress again.
 *
 * At the end the aggregator's views + late ledger equal the manifest exactly, the dead letters
 * match it per kind, and the archive holds every record exactly once.
 *
 * Size: NEXUS_TEST_EVENTS (default 30000) produced over NEXUS_TEST_PRODUCE_SECONDS (default
 * 50). By hand: NEXUS_TEST_EVENTS=1000000 NEXUS_TEST_PRODUCE_SECONDS=240.
 */
import assert from "node:assert/strict";
import {
  assertExact,
  childReport,
  killAll,
  type NexusChild,
  nexusReady,
  ownedPartitions,
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
const CLIENT = Deno.env.get("NEXUS_KAFKA_CLIENT") ?? "platformatic";
/** Targets of the issue; the asserts are looser (a shared 2-core machine is noisy). */
const GAP_TARGET_MS = 500;
const RESUME_TARGET_MS = 5000;

async function until(
  what: string,
  ok: () => boolean,
  timeoutMs: number,
  state?: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${state ? `: ${state()}` : ""}`,
      );
    }
    await sleep(100);
  }
}

/** Who owns which partitions, per module: `nexus-1 0,3,6 | nexus-2 1,4,7 | …`. */
function owners(live: readonly NexusChild[], module: string): string {
  return live.map((c) =>
    `${c.name} ${[...ownedPartitions(c, module)].sort((a, b) => a - b).join(",") || "-"}`
  ).join(" | ");
}

/**
 * True when both modules' groups have settled: every partition owned by exactly one live
 * process and the counts within one of each other (a cooperative rebalance is done in two
 * rounds; the partitions that move are unowned in between).
 */
function settled(live: readonly NexusChild[]): boolean {
  return ["aggregator", "archiver"].every((module) => {
    const counts = live.map((c) => ownedPartitions(c, module).size);
    const union = new Set(live.flatMap((c) => [...ownedPartitions(c, module)]));
    return union.size === PARTITIONS && counts.reduce((a, b) => a + b, 0) === PARTITIONS &&
      Math.max(...counts) - Math.min(...counts) <= 1;
  });
}

Deno.test({
  name:
    `scale-out: 3 processes over ${PARTITIONS} partitions, one joins, one is SIGKILLed and restarted with its instance id (${EVENTS} events)`,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const s = await scenario("scale_out", PARTITIONS);
    const children: NexusChild[] = [];
    const id = (i: number) => `${s.name}-${s.topic.slice(-6)}-${i}`;
    const spawn = (name: string, i: number) => {
      const c = spawnNexus(s, name, { env: { NEXUS_INSTANCE_ID: id(i) } });
      children.push(c);
      return c;
    };
    let progress: ProgressRecorder | undefined;
    const cooperative = CLIENT === "platformatic";
    try {
      s.phase(`log file ${s.logFile} (client ${CLIENT})`);
      for (let i = 1; i <= 3; i++) spawn(`nexus-${i}`, i);
      await Promise.all(children.map((c) => nexusReady(c)));
      const groups = () =>
        `aggregator: ${owners(children, "aggregator")}; archiver: ${owners(children, "archiver")}`;
      await until("every partition owned, balanced", () => settled(children), 60_000, groups);
      s.phase("3 processes ready");
      progress = new ProgressRecorder(s.db.sql, s.config, s.topic);
      const producing = (await produceLive(s, PRODUCE_SECONDS, {
        seed: 808,
        events: EVENTS,
        lateFraction: 0.03,
        maxLatenessMs: 30_000,
      }, 1000)).done;
      await sleep(PRODUCE_SECONDS * 150);

      // 1. a process joins
      const joinAt = progress.now();
      const joiner = spawn("nexus-4", 4);
      await nexusReady(joiner);
      // both rounds of the cooperative rebalance done: the static restart below starts from a
      // settled group (a restart during a rebalance joins that rebalance)
      await until(
        "the groups to settle with the new process",
        () => settled(children),
        60_000,
        groups,
      );
      await sleep(3000);
      const joinEnd = progress.now();
      const movedOnJoin = progress.moved(joinAt - 500, joinEnd);
      const stayed = new Set([...Array(PARTITIONS).keys()].filter((p) => !movedOnJoin.has(p)));
      const gap = progress.longestGap(stayed, joinAt, joinEnd);
      s.phase(
        `nexus-4 joined: ${movedOnJoin.size} partitions moved, ${stayed.size} stayed; ` +
          `longest gap in the stored progress of those that stayed ${gap.ms} ms (p${gap.partition}), ` +
          `pause of those that moved ${progress.pauseAround(joinAt, 20_000).ms} ms; ` +
          `aggregator owners ${owners(children, "aggregator")}`,
      );

      // 2. a SIGKILL and an immediate restart with the same instance id
      const victim = children[1]!;
      const own = ownedPartitions(victim);
      const killAt = progress.now();
      victim.signal("SIGKILL");
      await victim.exited;
      const startAt = progress.now();
      const restarted = spawn("nexus-2b", 2);
      await nexusReady(restarted);
      const readyAt = progress.now();
      let resumed: Map<number, number | undefined> = new Map();
      // progress is measured from a sample taken after the killed process's last commit could
      // have been sampled (one sampling interval), so only the new process's writes count
      const base = startAt + 250;
      await until("the restarted process's partitions progress again", () => {
        resumed = progress!.resumedAt(own, base);
        return [...resumed.values()].every((t) => t !== undefined);
      }, 90_000);
      const resumeMs = Math.max(...[...resumed.values()].map((t) => t! - startAt));
      await sleep(2000);
      const movedByRestart = [...progress.moved(killAt - 500, progress.now())].filter((p) =>
        !own.has(p)
      );
      s.phase(
        `nexus-2 (partitions ${[...own].join(",")}) SIGKILLed and restarted: ready ${
          readyAt - startAt
        } ms after its start, its partitions progress again ${resumeMs} ms after its start; ` +
          `it owns ${[...ownedPartitions(restarted)].join(",")}; others moved: ${
            movedByRestart.join(",") || "none"
          }`,
      );

      const manifest = await producing;
      s.phase(`produced ${manifest.records} records`);
      const ends = await topicEndOffsets(s.config, s.topic);
      const result = await assertExact(s, manifest, ends, 180_000);
      const stalls = progress.stalls(1000);
      await progress.stop();
      s.phase(
        `exact: ${result.valid} valid, ${result.late} late, ${result.dead} dead letters, ` +
          `${result.records} records archived once in ${result.objects} objects; ` +
          `join: longest gap of unmoved partitions ${gap.ms} ms (target ${GAP_TARGET_MS}); ` +
          `static restart: resumed ${resumeMs} ms after start (target ${RESUME_TARGET_MS}), ` +
          `other partitions moved ${movedByRestart.length}; stalls > 1 s: ${stalls.length}`,
      );
      assert.ok(result.late > 0, "a window closed mid-stream, so some events arrived late");
      if (cooperative) {
        assert.ok(stayed.size > 0, "some partitions kept their owner when a process joined");
        assert.ok(gap.ms <= 4 * GAP_TARGET_MS + 1000, `unmoved partitions stalled ${gap.ms} ms`);
        assert.deepEqual(movedByRestart, [], "a static restart moves nobody else's partitions");
        assert.deepEqual(ownedPartitions(restarted), own, "it got its own partitions back");
        assert.ok(resumeMs <= 3 * RESUME_TARGET_MS, `resumed ${resumeMs} ms after start`);
      }
      const alive = children.filter((c) => c !== victim);
      await stopAllCleanly(alive);
    } catch (e) {
      console.error(`[scale_out] child logs: ${s.logFile}\n${childReport(children)}`);
      throw e;
    } finally {
      await progress?.stop();
      await killAll(children);
      await s.cleanup();
    }
  },
});
