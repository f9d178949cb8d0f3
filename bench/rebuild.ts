/**
 * Rebuild after a crash: an aggregator child consumes the produced topic into a fresh
 * database and is SIGKILLed once about half the records are stored; a new child (a new
 * consumer group, so the broker need not wait out the dead member's session timeout; the
 * aggregator reads its progress from Postgres, never from Kafka commits) restarts from the
 * stored replay offsets. Measured: time from the restart (spawn) until every partition's
 * next_offset reached the end offset (and its own position, from its STATUS lines, did), and the
 * rate over the events it had to re-read
 * (end − replay_offset, summed). Baseline: ConsumerPerformance's rate on the same topic.
 *
 * @module
 */
import { type BenchContext, caughtUp, storedOffsets, total, until } from "./context.ts";
import type { ConsumerPerfResult } from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";

/** Runs the kill-and-restart measurement on `topic`. */
export async function measureRebuild(
  ctx: BenchContext,
  topic: string,
  tool: ConsumerPerfResult | undefined,
): Promise<Measurement> {
  const ends = await ctx.ends(topic);
  const records = total(ends);
  const db = await ctx.database("rebuild");
  const env = (group: string) =>
    ctx.childEnv({
      DATABASE_URL: db.url,
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_DLQ_TOPIC: `${topic}.dlq`,
      NEXUS_AGGREGATOR_GROUP: group,
    });
  const first = spawnChild("aggregator", { env: env(`${ctx.runTag}_rb1`), logFile: ctx.logFile });
  try {
    await first.waitFor("READY", 120_000);
    await until(
      "half of the records stored",
      async () => total(await storedOffsets(db.sql, topic)) >= records / 2,
      30 * 60_000,
      50,
    );
  } finally {
    first.kill("SIGKILL");
    await first.exited;
  }
  const rows = await db.sql<{ partition: number; next_offset: string; replay_offset: string }[]>`
    select partition, next_offset, replay_offset from consumer_checkpoints
     where processor = 'aggregator' and topic = ${topic}`;
  let reread = 0, replayOnly = 0, storedAtKill = 0;
  const nextAtKill = new Map<number, number>();
  for (const [p, end] of ends) {
    const r = rows.find((x) => x.partition === p);
    const replay = r ? Number(r.replay_offset) : 0;
    const next = r ? Number(r.next_offset) : 0;
    nextAtKill.set(p, next);
    reread += end - replay;
    replayOnly += next - replay;
    storedAtKill += next;
  }
  const t0 = performance.now();
  const second = spawnChild("aggregator", { env: env(`${ctx.runTag}_rb2`), logFile: ctx.logFile });
  let ms: number, readyMs: number, replayMs: number | undefined;
  // position of the restarted child per partition, from its STATUS lines
  const reached = (target: Map<number, number>) => {
    const line = second.last("STATUS");
    if (!line) return false;
    const pos = (JSON.parse(line.slice(7)) as { pos: Record<string, string> }).pos;
    for (const [p, t] of target) if (t > 0 && Number(pos[p] ?? -1) < t) return false;
    return true;
  };
  try {
    await second.waitFor("READY", 120_000);
    readyMs = performance.now() - t0;
    await until(
      "rebuild catch-up",
      async () => {
        if (replayMs === undefined && reached(nextAtKill)) replayMs = performance.now() - t0;
        return reached(ends) && caughtUp(await storedOffsets(db.sql, topic), ends);
      },
      30 * 60_000,
      20,
    );
    ms = performance.now() - t0;
    replayMs ??= ms;
  } finally {
    await second.stop();
  }
  const rate = reread / (ms / 1000);
  const base = tool?.recordsPerSec ?? NaN;
  return {
    title: "rebuild after SIGKILL",
    value: rate,
    unit: "events/s",
    baseline: { what: "ConsumerPerformance", value: base, unit: "records/s" },
    ratio: rate / base,
    target: { text: "≥ 200,000 events/s", pass: rate >= 200_000 },
    details: {
      records,
      storedAtKill,
      rereadEvents: reread,
      stateReplayEvents: replayOnly,
      restartToCaughtUpSeconds: ms / 1000,
      restartToReadySeconds: readyMs / 1000,
      restartToStateRebuiltSeconds: replayMs / 1000,
      stateReplayRate: replayOnly / (replayMs / 1000),
      secondsPerMillionReplayed: (ms / 1000) / (reread / 1e6),
      note:
        "rate = events re-read after the restart (end − stored replay_offset) / (restart spawn → all next_offsets at the end); includes process start, Kafka/Postgres checks, migrate and group join",
    },
  };
}
