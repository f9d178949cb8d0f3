/**
 * `verify`: recomputes per-minute counts from the archive and compares them with the
 * aggregator's tables (views + late_events) in a fresh database. Two sources for the
 * PostgreSQL side: (1) rows written from the generator's manifest (independent of the
 * aggregator's code; some events placed in the late ledger), (2) the real aggregator.
 * Each passes clean and fails, naming the window, once an aggregate row is tampered with.
 */
import assert from "node:assert/strict";
import { archiverCommands, createArchiver } from "../src/archiver/mod.ts";
import { ACTIONS } from "../src/events/mod.ts";
import { defaultStreamParams, type Manifest, produceStream } from "../src/generator/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import type { Config } from "../src/config/mod.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";
import { waitArchived } from "./fixtures/archiver_support.ts";

const log = createLogger("test-archiver", { level: "error" });
const verify = archiverCommands.find((c) => c.name === "verify")!;
const runVerify = (args: string[], ctx: { config: Config; log: typeof log }) =>
  verify.run(args, ctx);

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const orig = console.log;
  console.log = (...a: unknown[]) => lines.push(a.map(String).join(" "));
  try {
    const code = await fn();
    return { code, out: lines.join("\n") };
  } finally {
    console.log = orig;
  }
}

/** A topic with a generated stream, fully archived. */
async function archivedTopic(
  prefix: string,
  events: number,
): Promise<{ config: Config; manifest: Manifest }> {
  const base = testConfig();
  const topic = await freshTopic(base, prefix, 3);
  const config = testConfig({
    "click-topic": topic,
    "archiver-group": uniqueName(`${prefix}_g`),
    "archive-max-records": "1000",
    "archive-max-age-ms": "300",
    partitions: "3",
    "kafka-session-timeout-ms": "6000",
  });
  const manifest = await produceStream(
    config,
    topic,
    defaultStreamParams({
      seed: 23,
      events,
      eventsPerSecond: 10, // 3000 events span 5 minutes: several windows
      lateFraction: 0.05,
      duplicateFraction: 0.05,
      malformedFraction: 0.02,
    }),
  );
  const archiver = await createArchiver({ config, log });
  try {
    await waitArchived(config, topic, 60_000);
  } finally {
    await archiver.stop();
  }
  return { config, manifest };
}

function range(manifest: Manifest): { from: string; to: string } {
  const minutes = Object.keys(manifest.minutes).sort();
  return {
    from: minutes[0]!,
    to: new Date(Date.parse(minutes.at(-1)!) + 60_000).toISOString(),
  };
}

Deno.test("verify: archive vs manifest-written aggregate rows (with late ledger) and a tampered row", async () => {
  const { config, manifest } = await archivedTopic("arch_vf", 3000);
  const db = await freshDatabase("arch_vf", config);
  try {
    const topic = config.clickTopic;
    const minutes = Object.entries(manifest.minutes).sort(([a], [b]) => a.localeCompare(b));
    assert.ok(minutes.length >= 3);
    // The first window's 2 views and 1 purchase (1 cent of its revenue) sit in the late ledger.
    let lateId = 0;
    for (const [i, [ws, m]] of minutes.entries()) {
      for (const action of ACTIONS) {
        let count = m.counts[action];
        let cents = action === "purchase" ? m.revenue_cents : 0;
        const late = i === 0 ? (action === "view" ? 2 : action === "purchase" ? 1 : 0) : 0;
        for (let k = 0; k < Math.min(late, count); k++) {
          const lateCents = action === "purchase" ? 1 : 0;
          await db.sql`
            insert into late_events (topic, event_id, partition, "offset", window_start, window_end,
                                     action, revenue_cents, watermark, lateness_ms, event)
            values (${topic}, ${`late-${lateId++}`}, 0, 0, ${ws}::timestamptz,
                    ${ws}::timestamptz + interval '1 minute', ${action}, ${lateCents},
                    ${ws}::timestamptz + interval '2 minutes', 60000, '{}'::jsonb)`;
          count--;
          cents -= lateCents;
        }
        if (count === 0) continue;
        await db.sql`
          insert into window_partials (topic, partition, window_start, action, event_count, revenue_cents)
          values (${topic}, 0, ${ws}::timestamptz, ${action}, ${count}, ${cents})`;
      }
    }
    assert.ok(lateId >= 2, "late ledger used");
    const ctx = { config: db.config, log };
    const { from, to } = range(manifest);
    const clean = await capture(() => runVerify(["--from", from, "--to", to], ctx));
    assert.equal(clean.code, 0, clean.out);
    assert.match(clean.out, / 0 mismatches/);

    const [, second] = minutes;
    await db.sql`
      update window_partials set event_count = event_count + 1
       where topic = ${topic} and window_start = ${second![0]}::timestamptz and action = 'click'`;
    const bad = await capture(() => runVerify(["--from", from, "--to", to], ctx));
    assert.equal(bad.code, 1);
    const line = bad.out.split("\n").find((l) => l.startsWith(second![0]));
    assert.ok(line, bad.out);
    assert.match(
      line,
      new RegExp(`click\\s+${second![1].counts.click}\\s+${second![1].counts.click + 1}$`),
    );

    const usage = await capture(() => runVerify(["--from", "yesterday", "--to", to], ctx));
    assert.equal(usage.code, 2);
  } finally {
    await db.drop();
  }
});

Deno.test("verify: archive vs the real aggregator, then a tampered row", async () => {
  const { config, manifest } = await archivedTopic("arch_vagg", 3000);
  const db = await freshDatabase("arch_vagg", config);
  const { createAggregator } = await import("../src/aggregator/mod.ts");
  const aggConfig: Config = { ...db.config, aggregatorGroup: uniqueName("arch_vagg_a") };
  const agg = await createAggregator({ config: aggConfig, log });
  const valid = manifest.valid;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const [r] = await db.sql<{ n: string }[]>`
        select (select coalesce(sum(event_count), 0) from action_counts_minute where topic = ${config.clickTopic})
             + (select count(*) from late_events where topic = ${config.clickTopic}) as n`;
      if (Number(r!.n) >= valid) break;
      assert.ok(Date.now() < deadline, `aggregator counted ${r!.n}/${valid}`);
      await new Promise((res) => setTimeout(res, 300));
    }
  } finally {
    await agg.stop();
  }
  try {
    const ctx = { config: db.config, log };
    const { from, to } = range(manifest);
    const clean = await capture(() => runVerify(["--from", from, "--to", to], ctx));
    assert.equal(clean.code, 0, clean.out);
    const [row] = await db.sql<{ window_start: Date }[]>`
      select window_start from window_partials where topic = ${config.clickTopic} and action = 'view'
       order by window_start limit 1`;
    await db.sql`
      update window_partials set event_count = event_count + 5
       where topic = ${config.clickTopic} and window_start = ${
      row!.window_start
    } and action = 'view'
         and partition = (select min(partition) from window_partials
                           where topic = ${config.clickTopic} and window_start = ${
      row!.window_start
    }
                             and action = 'view')`;
    const bad = await capture(() => runVerify(["--from", from, "--to", to], ctx));
    assert.equal(bad.code, 1);
    assert.match(
      bad.out,
      new RegExp(`^${row!.window_start.toISOString()}\\s+view\\s+\\d+\\s+\\d+$`, "m"),
    );
  } finally {
    await db.drop();
  }
});

Deno.test("backfill re-publishes the archived events of a time range byte-identical", async () => {
  const { config, manifest } = await archivedTopic("arch_bf", 1000);
  const { from } = range(manifest);
  const to = new Date(Date.parse(from) + 60_000).toISOString(); // the first minute only
  const target = uniqueName("arch_bf_out");
  const backfill = archiverCommands.find((c) => c.name === "backfill")!;
  const ctx = { config, log };
  const dry = await capture(() =>
    backfill.run(["--from", from, "--to", to, "--to-topic", target, "--dry-run"], ctx)
  );
  assert.equal(dry.code, 0, dry.out);
  const res = await capture(() =>
    backfill.run(["--from", from, "--to", to, "--to-topic", target], ctx)
  );
  assert.equal(res.code, 0, res.out);
  const { readArchive, readTopic } = await import("./fixtures/archiver_support.ts");
  const { validateRecord } = await import("../src/events/mod.ts");
  const expected = (await readArchive(config, config.clickTopic)).records.filter((r) => {
    const v = validateRecord(r.value);
    return v.ok && v.time >= Date.parse(from) && v.time < Date.parse(to);
  }).map((r) => r.value!.toString("hex")).sort();
  const got = (await readTopic(config, target)).map((r) => r.value!.toString("hex")).sort();
  assert.ok(expected.length > 0);
  assert.deepEqual(got, expected);
  assert.match(res.out, new RegExp(`${expected.length} records selected, ${expected.length} sent`));
});
