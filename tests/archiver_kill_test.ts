/**
 * Kill test: the archiver runs as a child process and is killed with SIGKILL at random
 * moments while the topic is being produced, then restarted; afterwards the archive holds
 * every record of the topic exactly once (checked against an independent read of the topic)
 * and no two objects overlap.
 *
 * Sizes: NEXUS_TEST_EVENTS (valid events, default 50000), NEXUS_TEST_KILLS (default 10),
 * NEXUS_TEST_SEED (default: random, printed).
 */
import assert from "node:assert/strict";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { freshTopic, testConfig, testEnv, uniqueName } from "./_support.ts";
import {
  assertExactlyOnce,
  highWatermarks,
  readArchive,
  readTopic,
  waitArchived,
} from "./fixtures/archiver_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? "50000");
const KILLS = Number(Deno.env.get("NEXUS_TEST_KILLS") ?? "10");
const SEED = Number(Deno.env.get("NEXUS_TEST_SEED") ?? String(Math.floor(Math.random() * 1e6)));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

Deno.test(`archiver survives ${KILLS} SIGKILLs with an exactly-once archive`, async () => {
  const rand = rng(SEED);
  const base = testConfig();
  const topic = await freshTopic(base, "arch_kill", 3);
  const group = uniqueName("arch_kill_g");
  const config = testConfig({ "click-topic": topic, "archiver-group": group, partitions: "3" });
  const env = {
    ...testEnv(),
    NEXUS_CLICK_TOPIC: topic,
    NEXUS_ARCHIVER_GROUP: group,
    NEXUS_ARCHIVE_MAX_RECORDS: String(Math.max(500, Math.floor(EVENTS / 40))),
    NEXUS_ARCHIVE_MAX_AGE_MS: "700",
    NEXUS_LOG_LEVEL: "info",
    ARCHIVER_RESERVE_DELAY_MS: "150",
  };
  const child = new URL("./fixtures/archiver_child.ts", import.meta.url).pathname;
  const spawn = () =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", child],
      env,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  const stderrTail: string[] = [];
  const recoveries = { rewrites: 0 };
  const drainStderr = async (p: Deno.ChildProcess) => {
    for await (const chunk of p.stderr.pipeThrough(new TextDecoderStream())) {
      stderrTail.push(chunk);
      if (stderrTail.length > 50) stderrTail.shift();
      // logged at info only when a recovery re-uploads a recorded range
      for (const _ of chunk.matchAll(/recovered from the archive ledger[^\n]*pendingRewrite=/g)) {
        recoveries.rewrites++;
      }
    }
  };
  /** Follows the child's STATUS lines; resolves once records flow (or after `maxMs`). */
  const progress = (p: Deno.ChildProcess, maxMs: number, anyStatus = false) => {
    const state = { flowing: false, eventsIn: 0, eventsOut: 0 };
    const flowing = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, maxMs);
      (async () => {
        let buf = "";
        for await (const chunk of p.stdout.pipeThrough(new TextDecoderStream())) {
          buf += chunk;
          let i;
          while ((i = buf.indexOf("\n")) >= 0) {
            const m = /^STATUS (\d+) (\d+)/.exec(buf.slice(0, i));
            buf = buf.slice(i + 1);
            if (m) {
              state.eventsIn = Number(m[1]);
              state.eventsOut = Number(m[2]);
              if ((anyStatus || state.eventsIn > 0) && !state.flowing) {
                state.flowing = true;
                clearTimeout(t);
                resolve();
              }
            }
          }
        }
      })().catch(() => {});
    });
    return { state, flowing };
  };

  const t0 = performance.now();
  // production runs while the archiver is being killed
  const rate = Math.max(1000, Math.floor(EVENTS / (KILLS * 5)));
  const producing = produceStream(
    config,
    topic,
    defaultStreamParams({
      seed: SEED,
      events: EVENTS,
      malformedFraction: 0.01,
      duplicateFraction: 0.02,
    }),
    { rate },
  );
  producing.catch(() => {});
  const kills: string[] = [];
  for (let k = 0; k < KILLS; k++) {
    const proc = spawn();
    const stderr = drainStderr(proc);
    const prog = progress(proc, 12_000);
    await prog.flowing;
    // a random moment after records started to flow: mid-batch, mid-upload, mid-commit...
    const delay = Math.floor(rand() * 1500);
    await new Promise((r) => setTimeout(r, delay));
    try {
      proc.kill("SIGKILL");
    } catch { /* ended by itself: reported below */ }
    const status = await proc.status;
    await stderr.catch(() => {});
    assert.equal(status.signal, "SIGKILL", `child ${k} ended by itself: ${stderrTail.join("")}`);
    kills.push(`${delay}ms(${prog.state.eventsIn} in/${prog.state.eventsOut} out)`);
  }
  const manifest = await producing;
  const high = await highWatermarks(config, topic);
  const total = [...high.values()].reduce((a, b) => a + b, 0n);
  assert.equal(total, BigInt(manifest.records));

  // the last incarnation completes the archive and stops gracefully
  const last = spawn();
  const lastErr = drainStderr(last);
  const lastProg = progress(last, 60_000, true);
  await lastProg.flowing.then(() => {}); // running (STATUS lines) before it may be stopped
  try {
    await waitArchived(config, topic, 120_000, high);
  } finally {
    last.kill("SIGTERM");
  }
  const status = await last.status;
  await lastErr.catch(() => {});
  assert.equal(status.code, 0, `graceful stop failed: ${stderrTail.join("")}`);
  const elapsed = Math.round(performance.now() - t0);

  const topicRecords = await readTopic(config, topic);
  const archive = await readArchive(config, topic);
  assertExactlyOnce(topicRecords, archive);
  console.log(
    `seed ${SEED}: ${total} records (${EVENTS} events), ${KILLS} SIGKILLs at ${
      kills.join(", ")
    } after records flowed, ${archive.objects.length} objects, ${recoveries.rewrites} recoveries re-uploaded a recorded range, archive complete and exactly-once after ${elapsed} ms`,
  );
});
