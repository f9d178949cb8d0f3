/**
 * The generator as a `run` module: a live click stream (event time = now) at a steady rate
 * until stopped.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import type { ModuleStarter, ModuleStatus, RunningModule } from "../runtime/module.ts";
import { defaultStreamParams } from "./params.ts";
import { createProducer, ensureClickTopic, sendRecords } from "./produce.ts";
import { generateStream } from "./stream.ts";

/** Default live rate (records/s) when the `generatorRate` setting is not given. */
export const DEFAULT_LIVE_RATE = 100;

/** The live send rate: the `generatorRate` setting (`--rate`, NEXUS_GENERATOR_RATE), else 100. */
export function liveRate(config: Config): number {
  return config.generatorRate ?? DEFAULT_LIVE_RATE;
}

/** Starts the live generator on config.clickTopic (created with config.partitions). */
export const startGenerator: ModuleStarter = async ({ config, log }) => {
  const rate = liveRate(config);
  const topic = config.clickTopic;
  const partitions = await ensureClickTopic(config, topic, config.partitions);
  const producer = createProducer(config);
  const params = defaultStreamParams({
    seed: Math.floor(Date.now() / 1000) >>> 0,
    events: Number.MAX_SAFE_INTEGER,
    start: new Date().toISOString(),
    eventsPerSecond: rate,
  });
  const ac = new AbortController();
  let sent = 0;
  let lastFlushAt: number | undefined;
  log.info("generator streaming", { topic, rate, seed: params.seed });
  const done = (async () => {
    try {
      const records = generateStream(params, { clock: () => Date.now() });
      await sendRecords(producer, topic, partitions, records, {
        rate,
        signal: ac.signal,
        onProgress: (n) => {
          sent = n;
          lastFlushAt = Date.now();
        },
      });
    } finally {
      await producer.close();
    }
  })();
  let stopping: Promise<void> | undefined;
  const mod: RunningModule = {
    name: "generator",
    done,
    stop() {
      stopping ??= (async () => {
        ac.abort();
        await done.catch(() => {});
        log.info("generator stopped", { sent });
      })();
      return stopping;
    },
    status(): ModuleStatus {
      return { eventsIn: 0, eventsOut: sent, lastFlushAt, extra: { rate, topic } };
    },
  };
  return mod;
};
