/**
 * Is the modules' peak RSS live data or a lazy garbage collector? Each module runs again as a
 * child with V8's old generation capped (`--v8-flags=--max-old-space-size=N`) on a fresh topic
 * of the same workload: its peak RSS, its time, and whether it survived.
 *
 * @module
 */
import { createS3 } from "../src/s3/mod.ts";
import { deleteAll, listKeys } from "./archive.ts";
import { type BenchContext, caughtUp, storedOffsets, until } from "./context.ts";
import { type Child, spawnChild } from "./proc.ts";

/** Old-generation cap of the capped runs, MB. */
export const HEAP_CAP_MB = 128;

interface CappedRun {
  ok: boolean;
  peakRssMb: number;
  seconds: number;
  error?: string;
}

async function guard(child: Child, fn: () => Promise<void>): Promise<CappedRun> {
  const t0 = performance.now();
  try {
    await fn();
    child.rss.sample();
    return { ok: true, peakRssMb: child.rss.peakMb, seconds: (performance.now() - t0) / 1000 };
  } catch (e) {
    return {
      ok: false,
      peakRssMb: child.rss.peakMb,
      seconds: (performance.now() - t0) / 1000,
      error: (e as Error).message.slice(0, 200),
    };
  } finally {
    await child.stop();
  }
}

/** Runs generator, aggregator and archiver with a capped heap. */
export async function measureCapped(ctx: BenchContext): Promise<Record<string, unknown>> {
  const denoFlags = [`--v8-flags=--max-old-space-size=${HEAP_CAP_MB}`];
  const topic = await ctx.topic("cap");
  const gen = spawnChild("generator", {
    env: ctx.childEnv({ NEXUS_CLICK_TOPIC: topic, BENCH_PARAMS: JSON.stringify(ctx.params) }),
    denoFlags,
    logFile: ctx.logFile,
  });
  const generator = await guard(gen, async () => {
    await gen.waitFor("DONE ", 30 * 60_000);
    await gen.exited;
  });
  const ends = await ctx.ends(topic);
  const db = await ctx.database("cap");
  const agg = spawnChild("aggregator", {
    env: ctx.childEnv({
      DATABASE_URL: db.url,
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_DLQ_TOPIC: `${topic}.dlq`,
      NEXUS_AGGREGATOR_GROUP: ctx.group("capagg"),
    }),
    denoFlags,
    logFile: ctx.logFile,
  });
  const aggregator = await guard(agg, async () => {
    await agg.ready(ctx.opts.client);
    await until(
      "capped aggregator catch-up",
      async () => caughtUp(await storedOffsets(db.sql, topic), ends),
      30 * 60_000,
      50,
    );
  });
  const arch = spawnChild("archiver", {
    env: ctx.childEnv({
      NEXUS_CLICK_TOPIC: topic,
      NEXUS_ARCHIVER_GROUP: ctx.group("caparch"),
      NEXUS_ARCHIVE_MAX_AGE_MS: "1000",
    }),
    denoFlags,
    logFile: ctx.logFile,
  });
  const archiver = await guard(arch, async () => {
    await arch.ready(ctx.opts.client);
    for (;;) {
      const line = await arch.waitFor("ARCHIVED ", 30 * 60_000);
      const o = JSON.parse(line.slice("ARCHIVED ".length)) as Record<string, string>;
      if ([...ends].every(([p, end]) => end === 0 || Number(o[p] ?? -1) >= end - 1)) break;
    }
  });
  if (!ctx.opts.keep) {
    const s3 = createS3(ctx.config);
    const bucket = ctx.config.archiveBucket;
    const keys = [
      ...(await listKeys(s3, bucket, `raw/topic=${topic}/`)),
      ...(await listKeys(s3, bucket, `raw/_ledger/topic=${topic}/`)),
    ].map((k) => k.key);
    await deleteAll(s3, bucket, keys);
    s3.destroy();
  }
  return { heapCapMb: HEAP_CAP_MB, generator, aggregator, archiver };
}
