/**
 * Which service each module needs: the one table both the start-up checks (`cli/run.ts`) and
 * readiness (`observe/readiness.ts`) read.
 *
 * @module
 */
import type { Config, ModuleName } from "../config/mod.ts";

/** What one module needs to run. */
export interface ModuleNeeds {
  kafka: boolean;
  postgres: boolean;
  /** Which bucket, if any. */
  s3: "raw" | "archive" | null;
  /** `consume`: the click topic must exist; `produce`: the module creates it. */
  clickTopic: "consume" | "produce" | null;
}

/** The needs of every module. */
export const MODULE_NEEDS: Readonly<Record<ModuleName, ModuleNeeds>> = {
  generator: { kafka: true, postgres: false, s3: "raw", clickTopic: "produce" },
  loader: { kafka: false, postgres: true, s3: "raw", clickTopic: null },
  aggregator: { kafka: true, postgres: true, s3: null, clickTopic: "consume" },
  archiver: { kafka: true, postgres: false, s3: "archive", clickTopic: "consume" },
};

/** The services a set of modules needs, resolved against `config`. */
export interface ServiceNeeds {
  kafka: boolean;
  postgres: boolean;
  buckets: string[];
  /** Topics that must already exist (consumers without a producer of them in this process). */
  requireTopics: string[];
}

/** What `modules` need together: e.g. a consumer next to the generator needs no topic yet. */
export function servicesFor(config: Config, modules: readonly ModuleName[]): ServiceNeeds {
  const needs = modules.map((m) => MODULE_NEEDS[m]);
  const buckets = new Set<string>();
  for (const n of needs) {
    if (n.s3 === "raw") buckets.add(config.rawBucket);
    if (n.s3 === "archive") buckets.add(config.archiveBucket);
  }
  const consumes = needs.some((n) => n.clickTopic === "consume");
  const produces = needs.some((n) => n.clickTopic === "produce");
  return {
    kafka: needs.some((n) => n.kafka),
    postgres: needs.some((n) => n.postgres),
    buckets: [...buckets],
    requireTopics: consumes && !produces ? [config.clickTopic] : [],
  };
}
