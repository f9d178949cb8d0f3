/**
 * The archiver module: one `ArchiverPartition` per owned partition of the click topic, driven
 * by the partition consumer core in its own consumer group (`NEXUS_ARCHIVER_GROUP`), writing
 * every record exactly once into gzip NDJSON objects in the archive bucket.
 *
 * All partitions share one memory budget (`budget.ts`, `NEXUS_ARCHIVE_MAX_BUFFER_BYTES`): over
 * it the largest open batch closes early, and while closed batches alone fill it (S3 slow or
 * down) the partitions answer back-pressure, so fetching pauses until uploads drain.
 *
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { type KafkaClient, startConsumerModule } from "../kafka/mod.ts";
import { createS3 } from "../s3/mod.ts";
import type { ModuleContext, ModuleStarter, RunningModule } from "../runtime/module.ts";
import type { FlushPolicy } from "./batch.ts";
import { BufferBudget, DEFAULT_MAX_BUFFER_BYTES } from "./budget.ts";
import { ArchiverPartition, type ArchiverShared } from "./handler.ts";
import { archiverStatus } from "./status.ts";
import { DEFAULT_PREFIX } from "./key.ts";
import { type ObjectStore, probeConditionalWrites, S3Store } from "./store.ts";
import { type BackoffPolicy, describeFailure, retry } from "./s3_retry.ts";

/** Tuning and collaborators; every field is optional. */
export interface ArchiverOptions {
  /** Key prefix inside the archive bucket. Default `raw`. */
  prefix?: string;
  /** Object store. Default: the archive bucket over S3 (checked at start). */
  store?: ObjectStore;
  /** Backoff of S3 retries. Default 200 ms doubling to 10 s. */
  backoff?: BackoffPolicy;
  /** Closed batches per partition before fetching pauses. Default 2. */
  maxQueued?: number;
  /**
   * Memory budget of all buffered batches, bytes. Default `NEXUS_ARCHIVE_MAX_BUFFER_BYTES`
   * (config `archiveMaxBufferBytes`), else 64 MiB.
   */
  maxBufferBytes?: number;
  /** Kafka client. Default: `NEXUS_KAFKA_CLIENT` from config. */
  kafka?: KafkaClient;
}

/** The budget from options, then config (`archiveMaxBufferBytes`), then the default. */
export function bufferBudgetBytes(
  config: ModuleContext["config"],
  options: ArchiverOptions = {},
): number {
  return options.maxBufferBytes ?? config.archiveMaxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
}

/**
 * The archive bucket over S3, after probing whether the server honours conditional writes
 * (`If-None-Match`); retries while S3 is unreachable. `close` releases it.
 */
export async function openArchiveStore(
  { config, log }: ModuleContext,
  options: { prefix?: string; backoff?: BackoffPolicy } = {},
): Promise<{ store: S3Store; close(): void }> {
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  // One attempt per call: the archiver's own retry loop owns backoff and logging.
  const s3: S3Client = createS3(config, { maxAttempts: 1 });
  const conditional = await retry(
    "probe conditional writes",
    () =>
      probeConditionalWrites(s3, config.archiveBucket, `${prefix}/_ledger/conditional-write-probe`),
    {
      ...options.backoff,
      onRetry: (e) => log.warn("S3 unavailable at start; retrying", { error: describeFailure(e) }),
    },
  );
  if (!conditional) {
    log.warn(
      "S3 ignores If-None-Match: ledger entries are created check-then-put (safe with one archiver per partition)",
    );
  }
  return {
    store: new S3Store(s3, config.archiveBucket, { conditionalWrites: conditional }),
    close: () => s3.destroy(),
  };
}

/** Starts the archiver; resolves once it joined its consumer group. */
export function createArchiver(
  ctx: ModuleContext,
  options: ArchiverOptions = {},
): Promise<RunningModule> {
  const { config, log } = ctx;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const policy: FlushPolicy = {
    maxBytes: config.archiveMaxBytes,
    maxRecords: config.archiveMaxRecords,
    maxAgeMs: config.archiveMaxAgeMs,
  };
  return startConsumerModule(ctx, {
    name: "archiver",
    kafka: options.kafka,
    prepare: async (_kafka, admin) => {
      const opened = options.store
        ? { store: options.store, close: () => {} }
        : await openArchiveStore(ctx, { prefix, backoff: options.backoff });
      const shared: ArchiverShared = {
        store: opened.store,
        prefix,
        topic: config.clickTopic,
        group: config.archiverGroup,
        policy,
        backoff: options.backoff,
        log,
        maxQueued: options.maxQueued ?? 2,
        budget: new BufferBudget(bufferBudgetBytes(config, options)),
        admin,
        handlers: new Set(),
        totals: { eventsIn: 0, eventsOut: 0, bytesUploaded: 0, objects: 0 },
      };
      return {
        group: config.archiverGroup,
        handler: (_p, pctx) => new ArchiverPartition(shared, pctx),
        tickMs: Math.max(50, Math.min(1000, Math.floor(policy.maxAgeMs / 4))),
        release: () => Promise.resolve(opened.close()),
        status: (progress) => archiverStatus(shared, progress),
        started: { bucket: config.archiveBucket },
        stopped: () => ({
          events_in: shared.totals.eventsIn,
          events_out: shared.totals.eventsOut,
          bytes_uploaded: shared.totals.bytesUploaded,
        }),
      };
    },
  });
}

/** Starts the archiver (the `ModuleStarter` of `run --modules archiver`). */
export const startArchiver: ModuleStarter = (ctx) => createArchiver(ctx);
