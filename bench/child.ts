/**
 * One module as a child process of the benchmark, so its peak RSS, CPU time and CPU profile
 * are its own. Configured by the environment like `main.ts` (KAFKA_BROKERS, DATABASE_URL,
 * NEXUS_CLICK_TOPIC, NEXUS_KAFKA_CLIENT picks the Kafka adapter, ...); the mode is the first
 * argument:
 *
 * - `generator`: `produceStream(config, topic, BENCH_PARAMS)`, prints `DONE <json>` (records,
 *   ms, CPU seconds of the produce from `/proc/self/stat`, client), exits;
 * - `aggregator`: `createAggregator`, prints `READY <client>`, then `STATUS <json>` (events in,
 *   replayed, position per partition, from `status()`) every 100 ms, runs until SIGTERM
 *   (graceful stop);
 * - `archiver`: `createArchiver`, prints `READY <client>`, then `ARCHIVED <json>` (last
 *   archived offset per partition, from `status()`) every 100 ms, runs until SIGTERM.
 *
 * Every mode prints `RSS <VmHWM MB>` just before it exits by itself or on SIGTERM.
 *
 * @module
 */
import { resolveConfig } from "../src/config/mod.ts";
import { configureLogging, createLogger } from "../src/log/logger.ts";
import type { StreamParams } from "../src/generator/mod.ts";
import type { RunningModule } from "../src/runtime/module.ts";
import { cpuSeconds, peakRssMb } from "./rss.ts";

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
  // Deno.exit still writes a --cpu-prof profile (the profile section reads it after the exit)
  Deno.exit(code);
};
Deno.addSignalListener("SIGTERM", () => void finish(0));

/** Prints `line(status)` every 100 ms; exits 1 with `FAILED` when the module fails. */
function report(mod: RunningModule, line: (m: RunningModule) => string) {
  say(`READY ${config.kafkaClient}`);
  setInterval(() => say(line(mod)), 100);
  mod.done.catch((e) => {
    say(`FAILED ${String(e).split("\n")[0]}`);
    Deno.exit(1);
  });
}

// Each mode imports only its own module, as `main.ts run --modules <one>` does, so a child's
// RSS is its module's (the generator alone pulls in the S3 SDK and the CSV writer).
if (mode === "generator") {
  const { produceStream } = await import("../src/generator/mod.ts");
  const params = JSON.parse(Deno.env.get("BENCH_PARAMS") ?? "{}") as StreamParams;
  const cpu0 = cpuSeconds("self");
  const t0 = performance.now();
  const m = await produceStream(config, config.clickTopic, params, {
    partitions: config.partitions,
  });
  const ms = performance.now() - t0;
  const cpu1 = cpuSeconds("self");
  const cpu = cpu0 === undefined || cpu1 === undefined ? null : cpu1 - cpu0;
  say(
    `DONE ${
      JSON.stringify({ records: m.records, ms, cpuSeconds: cpu, client: config.kafkaClient })
    }`,
  );
  say(`RSS ${peakRssMb("self")?.toFixed(1)}`);
} else if (mode === "aggregator") {
  const { createAggregator } = await import("../src/aggregator/mod.ts");
  running = await createAggregator({ config, log });
  report(running, (agg) => {
    const st = agg.status();
    const pos: Record<string, string> = {};
    for (const [p, x] of Object.entries(st.partitions ?? {})) if (x.offset) pos[p] = x.offset;
    return `STATUS ${JSON.stringify({ eventsIn: st.eventsIn, replayed: st.extra?.replayed, pos })}`;
  });
} else if (mode === "archiver") {
  const { createArchiver } = await import("../src/archiver/mod.ts");
  running = await createArchiver({ config, log });
  report(running, (arch) => {
    const o: Record<string, string> = {};
    for (const [p, x] of Object.entries(arch.status().partitions ?? {})) {
      if (x.offset !== undefined) o[p] = x.offset;
    }
    return `ARCHIVED ${JSON.stringify(o)}`;
  });
} else {
  console.error(`usage: child.ts generator|aggregator|archiver (got ${mode})`);
  Deno.exit(2);
}
