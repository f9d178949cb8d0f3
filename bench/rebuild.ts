/**
 * Rebuild after a crash: an aggregator child consumes the produced topic into a fresh
 * database and is SIGKILLed once about half the records are stored; a new child (a new
 * consumer group, so the broker need not wait out the dead member's session timeout; the
 * aggregator reads its progress from Postgres, never from Kafka commits) restarts from the
 * stored replay offsets. Measured: time from the restart (spawn) until every partition's
 * next_offset reached the end offset (and its own position, from its STATUS lines, did), and the
 * rate over the events it had to re-read
 * (end − replay_offset, summed), and the restarted child's CPU seconds per million re-read events.
 * Baseline: ConsumerPerformance's rate on the same topic (from the consume phase).
 *
 * @module
 */
import { type BenchContext, caughtUp, storedOffsets, total, until } from "./context.ts";
import type { ConsumerPerfResult } from "./perf_tools.ts";
import { spawnChild } from "./proc.ts";
import type { Measurement } from "./report.ts";
import { perMillion } from "./rss.ts";

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
      NEXUS_AGGREGATOR_GROUP: ctx.group(group),
    });
  const client = ctx.opts.client;
  const first = spawnChild("aggregator", { env: env("rb1"), logFile: ctx.logFile });
  try {
    await first.ready(client);
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
  const second = spawnChild("aggregator", { env: env("rb2"), logFile: ctx.logFile });
  // the process has just started: what it used before this read is (almost) nothing
  const cpu0 = second.cpu() ?? 0;
  let ms: number, readyMs: number, replayMs: number | undefined;
  let cpu1: number | undefined;
  // position of the restarted child per partition, from its STATUS lines
  const reached = (target: Map<number, number>) => {
    const line = second.last("STATUS");
    if (!line) return false;
    const pos = (JSON.parse(line.slice(7)) as { pos: Record<string, string> }).pos;
    for (const [p, t] of target) if (t > 0 && Number(pos[p] ?? -1) < t) return false;
    return true;
  };
  try {
    await second.ready(client);
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
    cpu1 = second.cpu();
    replayMs ??= ms;
  } finally {
    await second.stop();
  }
  const rate = reread / (ms / 1000);
  const base = tool?.recordsPerSec ?? NaN;
  const ratio = rate / base;
  const cpuSeconds = cpu1 === undefined ? undefined : cpu1 - cpu0;
  return {
    title: "rebuild after SIGKILL",
    value: rate,
    unit: "events/s",
    baseline: { what: "ConsumerPerformance", value: base, unit: "records/s" },
    ratio,
    target: { text: "≥ 0.3 × consumer tool", pass: ratio >= 0.3 },
    cpuSecondsPerMillion: perMillion(cpuSeconds, reread),
    details: {
      records,
      client,
      cpuSeconds,
      cpuUtilisation: cpuSeconds === undefined ? undefined : cpuSeconds / (ms / 1000),
      storedAtKill,
      rereadEvents: reread,
      stateReplayEvents: replayOnly,
      restartToCaughtUpSeconds: ms / 1000,
      restartToReadySeconds: readyMs / 1000,
      restartToStateRebuiltSeconds: replayMs / 1000,
      stateReplayRate: replayOnly / (replayMs / 1000),
      secondsPerMillionReplayed: (ms / 1000) / (reread / 1e6),
      note:
        "rate = events re-read after the restart (end − stored replay_offset) / (restart spawn → all next_offsets at the end); includes process start, Kafka/Postgres checks, migrate and group join; baseline: ConsumerPerformance's rate from the consume phase (same topic); CPU = utime+stime of the restarted child (/proc/<pid>/stat) from spawn to caught up, per million re-read events",
    },
  };
}
