/**
 * One module as a child process of the benchmark, so its peak RSS and CPU profile are its
 * own. Configured by the environment like `main.ts` (KAFKA_BROKERS, DATABASE_URL,
 * NEXUS_CLICK_TOPIC, ...); the mode is the first argument:
 *
 * - `generator`: `produceStream(config, topic, BENCH_PARAMS)`, prints `DONE <json>`, exits;
 * - `aggregator`: `createAggregator`, prints `READY`, then `STATUS <json>` (events in, replayed,
 *   position per partition) every 100 ms, runs until SIGTERM (graceful stop);
 * - `archiver`: `createArchiver`, prints `READY`, then `ARCHIVED <json>` (last archived offset
 *   per partition) every 100 ms, runs until SIGTERM.
 *
 * Every mode prints `RSS <VmHWM MB>` just before it exits by itself or on SIGTERM.
 *
 * @module
 */
import { resolveConfig } from "../src/config/mod.ts";
import { configureLogging, createLogger } from "../src/log/logger.ts";
import { produceStream, type StreamParams } from "../src/generator/mod.ts";
import type { RunningModule } from "../src/runtime/module.ts";
import { cpuUsage } from "node:process";
import { peakRssMb } from "./rss.ts";

const mode = Deno.args[0];
const config = resolveConfig({ env: Deno.env.toObject(), flags: {} });
configureLogging({ level: "warn" });
const log = createLogger(`bench:${mode}`);
const say = (line: string) => console.log(line);

let running: RunningModule | undefined;
let stopping = false;
const finish = async (code: number) => {
  if (stopping) return;
  stopping = true;
  if (running) await running.stop().catch((e) => log.error("stop failed", { error: e }));
  say(`RSS ${peakRssMb("self")?.toFixed(1)}`);
  // Let a --cpu-prof profile be written by a normal exit of the event loop where possible.
  Deno.exit(code);
};
Deno.addSignalListener("SIGTERM", () => void finish(0));

if (mode === "generator") {
  const params = JSON.parse(Deno.env.get("BENCH_PARAMS") ?? "{}") as StreamParams;
  const t0 = performance.now();
  const m = await produceStream(config, config.clickTopic, params, {
    partitions: config.partitions,
  });
  const ms = performance.now() - t0;
  const cpu = cpuUsage();
  say(
    `DONE ${JSON.stringify({ records: m.records, ms, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}`,
  );
  say(`RSS ${peakRssMb("self")?.toFixed(1)}`);
} else if (mode === "aggregator") {
  const { createAggregator } = await import("../src/aggregator/mod.ts");
  running = await createAggregator({ config, log }, {
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 20_000,
  });
  say("READY");
  const agg = running;
  setInterval(() => {
    const st = agg.status();
    const pos: Record<string, string> = {};
    for (const [p, x] of Object.entries(st.partitions ?? {})) if (x.offset) pos[p] = x.offset;
    say(`STATUS ${JSON.stringify({ eventsIn: st.eventsIn, replayed: st.extra?.replayed, pos })}`);
  }, 100);
  running.done.catch((e) => {
    say(`FAILED ${e}`);
    Deno.exit(1);
  });
} else if (mode === "archiver") {
  const { createArchiver } = await import("../src/archiver/mod.ts");
  const arch = await createArchiver({ config, log }, { sessionTimeoutMs: 10_000 });
  running = arch;
  say("READY");
  setInterval(() => {
    const o: Record<string, string> = {};
    for (const [p, off] of arch.archived()) if (off !== undefined) o[p] = String(off);
    say(`ARCHIVED ${JSON.stringify(o)}`);
  }, 100);
  arch.done.catch((e) => {
    say(`FAILED ${e}`);
    Deno.exit(1);
  });
} else {
  console.error(`usage: child.ts generator|aggregator|archiver (got ${mode})`);
  Deno.exit(2);
}
