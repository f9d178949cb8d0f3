/**
 * The archiver module: consumes the click topic in its own consumer group and writes every
 * record, exactly once, into gzip NDJSON objects in the archive bucket.
 *
 * Per partition a `PartitionWriter` recovers its position from the S3 ledger (not from Kafka's
 * committed offset), seeks there, cuts batches and uploads them in order. Kafka offsets are
 * committed only after an object is durable. When uploads back up (S3 slow or down) the
 * partition is paused (`consumer.pause`), so memory stays bounded by about
 * `(maxQueued + 1) × archiveMaxBytes` per partition, and resumed once the backlog drains.
 *
 * @module
 */
import type { Admin, Consumer, EachBatchPayload } from "kafkajs";
import type { S3Client } from "@aws-sdk/client-s3";
import { checkKafka, createKafka } from "../kafka/mod.ts";
import { checkS3, createS3 } from "../s3/mod.ts";
import type {
  ModuleContext,
  ModuleStarter,
  ModuleStatus,
  RunningModule,
} from "../runtime/module.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { FlushPolicy } from "./batch.ts";
import { DEFAULT_PREFIX } from "./key.ts";
import type { LedgerEntry } from "./ledger.ts";
import { PartitionWriter } from "./partition.ts";
import { type ObjectStore, probeConditionalWrites, S3Store } from "./store.ts";
import { type BackoffPolicy, describeFailure, retry, RetryAborted } from "./uploader.ts";

/** Options beyond `Config` (tests and embedding). */
export interface ArchiverOptions {
  /** Key prefix inside the archive bucket. Default `raw`. */
  prefix?: string;
  /** Object store; default the archive bucket over S3. */
  store?: ObjectStore;
  /** Backoff of S3 retries. Default 200 ms doubling to 10 s. */
  backoff?: BackoffPolicy;
  /** Closed batches per partition before fetching pauses. Default 2. */
  maxQueued?: number;
  /** Skip the start-up checks (tests with a fake store). */
  skipChecks?: boolean;
  /** Consumer-group session timeout in ms. Default 30000 (tests use the broker minimum). */
  sessionTimeoutMs?: number;
  /** Test hook between a ledger entry and its upload (the kill test widens that window). */
  afterReserve?: (entry: LedgerEntry) => Promise<void>;
}

/** The running archiver, with extra figures for tests. */
export interface RunningArchiver extends RunningModule {
  /** Per partition: last archived offset, or undefined. */
  archived(): Map<number, bigint | undefined>;
  /** Partitions currently paused for backlog. */
  paused(): number[];
}

/** Starts the archiver (the `ModuleStarter` of `run --modules archiver`). */
export const startArchiver: ModuleStarter = (ctx) => createArchiver(ctx);

/** Starts the archiver with options. */
export async function createArchiver(
  ctx: ModuleContext,
  options: ArchiverOptions = {},
): Promise<RunningArchiver> {
  const { config } = ctx;
  const log = ctx.log;
  const topic = config.clickTopic;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const policy: FlushPolicy = {
    maxBytes: config.archiveMaxBytes,
    maxRecords: config.archiveMaxRecords,
    maxAgeMs: config.archiveMaxAgeMs,
  };
  if (!options.skipChecks) {
    await checkKafka(config, { requireTopics: [topic] });
    if (!options.store) await checkS3(config, [config.archiveBucket]);
  }
  let s3: S3Client | undefined;
  let store = options.store;
  if (!store) {
    // One attempt per call: the archiver's own retry loop owns backoff and logging.
    s3 = createS3(config, { maxAttempts: 1 });
    const conditional = await retry(
      "probe conditional writes",
      () =>
        probeConditionalWrites(
          s3!,
          config.archiveBucket,
          `${prefix}/_ledger/conditional-write-probe`,
        ),
      {
        ...options.backoff,
        onRetry: (e) =>
          log.warn("S3 unavailable at start; retrying", { error: describeFailure(e) }),
      },
    );
    if (!conditional) {
      log.warn(
        "S3 ignores If-None-Match: ledger entries are created check-then-put (safe with one archiver per partition)",
      );
    }
    store = new S3Store(s3, config.archiveBucket, { conditionalWrites: conditional });
  }
  const kafka = createKafka(config, {
    clientSuffix: "archiver",
    retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const consumer: Consumer = kafka.consumer({
    groupId: config.archiverGroup,
    sessionTimeout: options.sessionTimeoutMs ?? 30_000,
    rebalanceTimeout: options.sessionTimeoutMs ?? 60_000,
    heartbeatInterval: Math.min(3_000, Math.floor((options.sessionTimeoutMs ?? 30_000) / 3)),
    maxBytesPerPartition: 4 * 1024 * 1024,
    // kafkajs sleeps this long when every partition is paused, and a resumed partition waits
    // for the fetch in flight: keep it short so back-pressure pauses do not stall catch-up.
    maxWaitTimeInMs: 250,
    retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 10_000 },
  });

  const writers = new Map<number, PartitionWriter>();
  const lastSeek = new Map<number, bigint>();
  const pausedSet = new Set<number>();
  let assigned = new Set<number>();
  const low = new Map<number, bigint>();
  const high = new Map<number, bigint>();
  let eventsIn = 0;
  let eventsOut = 0;
  let bytesUploaded = 0;
  let lastFlushAt: number | undefined;
  let stopping = false;
  let stopped: Promise<void> | undefined;
  let resolveDone!: () => void;
  let rejectDone!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });

  async function refreshOffsets(): Promise<void> {
    const offs = await admin.fetchTopicOffsets(topic);
    for (const o of offs) {
      low.set(o.partition, BigInt(o.low));
      high.set(o.partition, BigInt(o.high));
    }
  }
  await refreshOffsets().catch(() => {});

  function resume(p: number): void {
    if (!pausedSet.has(p) || stopping) return;
    pausedSet.delete(p);
    consumer.resume([{ topic, partitions: [p] }]);
    log.debug("partition resumed (upload backlog drained)", { partition: p });
  }

  function writerFor(p: number): PartitionWriter {
    let w = writers.get(p);
    if (w) return w;
    w = new PartitionWriter({
      store: store!,
      prefix,
      topic,
      partition: p,
      policy,
      backoff: options.backoff,
      log,
      maxQueued: options.maxQueued,
      onDurable: async (entry, body) => {
        eventsOut += entry.records;
        bytesUploaded += body;
        lastFlushAt = Date.now();
        await consumer.commitOffsets([
          { topic, partition: p, offset: (BigInt(entry.end) + 1n).toString() },
        ]);
      },
      onDrained: () => resume(p),
      afterReserve: options.afterReserve,
      onConflict: () => lastSeek.delete(p),
    });
    writers.set(p, w);
    return w;
  }

  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    const now = new Set(payload.memberAssignment[topic] ?? []);
    for (const [p, w] of writers) {
      if (!now.has(p)) {
        // Revoked: abandon unflushed records; the next owner recovers from the ledger.
        w.abort();
        writers.delete(p);
        lastSeek.delete(p);
      }
    }
    for (const p of now) {
      if (pausedSet.has(p) && (writers.get(p)?.backlog ?? 0) < (options.maxQueued ?? 2)) resume(p);
    }
    assigned = now;
    log.info("archiver partitions assigned", { partitions: [...now].join(",") });
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    log.error("archiver consumer crashed", {
      error: reasonOf(payload.error),
      restart: payload.restart,
    });
    if (!payload.restart && !stopping) rejectDone(payload.error);
  });

  async function eachBatch(
    { batch, resolveOffset, heartbeat, isRunning, isStale, pause }: EachBatchPayload,
  ): Promise<void> {
    const p = batch.partition;
    if (stopping) return;
    const w = writerFor(p);
    if (!w.ready) {
      // Recovery retries through S3 outages; keep the group membership alive meanwhile.
      const hb = setInterval(() => heartbeat().catch(() => {}), 3000);
      try {
        // bounded, so a rebalance is never held up for long: the batch is fetched again
        await w.init(low.get(p) ?? 0n, 15_000);
      } catch (e) {
        if (e instanceof RetryAborted) return;
        throw e;
      } finally {
        clearInterval(hb);
      }
      if (w.aborted || stopping) return;
    }
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || stopping || w.aborted) return;
      const offset = BigInt(m.offset);
      const rec = {
        partition: p,
        offset,
        timestamp: Number(m.timestamp),
        key: m.key,
        value: m.value,
      };
      let res = w.offer(rec, Date.now());
      if (res === "gap") {
        if (lastSeek.get(p) === w.expected()) {
          // Kafka already served us from the expected offset: these offsets are not in the log.
          w.acceptGap(offset);
          res = w.offer(rec, Date.now());
        } else {
          lastSeek.set(p, w.expected());
          consumer.seek({ topic, partition: p, offset: w.expected().toString() });
          return;
        }
      }
      if (res === "full") {
        pause();
        pausedSet.add(p);
        log.debug("partition paused: upload backlog full", { partition: p });
        return;
      }
      if (res === "uninitialised") return;
      if (res === "taken") eventsIn++;
      if (offset + 1n > (lastSeek.get(p) ?? -1n)) lastSeek.delete(p);
      resolveOffset(m.offset);
    }
    await heartbeat();
  }

  const tickMs = Math.max(50, Math.min(1000, Math.floor(policy.maxAgeMs / 4)));
  let lastRefresh = 0;
  const timer = setInterval(() => {
    const now = Date.now();
    for (const w of writers.values()) w.tick(now);
    for (const p of [...pausedSet]) {
      const w = writers.get(p);
      if (!w || w.backlog < (options.maxQueued ?? 2)) resume(p);
    }
    if (now - lastRefresh > 5000) {
      lastRefresh = now;
      refreshOffsets().catch(() => {});
    }
  }, tickMs);

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: Math.max(1, Math.min(config.partitions, 6)),
    eachBatch,
  });
  log.info("archiver started", {
    topic,
    group: config.archiverGroup,
    bucket: config.archiveBucket,
  });

  async function stopNow(): Promise<void> {
    stopping = true;
    clearInterval(timer);
    const deadline = Date.now() + Math.max(100, config.shutdownTimeoutMs - 1000);
    try {
      if (assigned.size > 0) consumer.pause([{ topic }]);
    } catch { /* not running */ }
    for (const w of writers.values()) w.flushOpen();
    const drained = Promise.all([...writers.values()].map((w) => w.drain()));
    let timer2: ReturnType<typeof setTimeout> | undefined;
    const timedOut = await Promise.race([
      drained.then(() => false),
      new Promise<boolean>((r) => timer2 = setTimeout(() => r(true), deadline - Date.now())),
    ]);
    clearTimeout(timer2);
    if (timedOut) {
      log.warn("stop: uploads not finished in time; the ledger resumes them on restart");
    }
    for (const w of writers.values()) w.abort();
    await drained.catch(() => {});
    await consumer.disconnect().catch((e) =>
      log.warn("consumer disconnect failed", { error: reasonOf(e) })
    );
    await admin.disconnect().catch(() => {});
    s3?.destroy();
    log.info("archiver stopped", { eventsIn, eventsOut, bytesUploaded });
    resolveDone();
  }

  return {
    name: "archiver",
    done,
    stop(): Promise<void> {
      stopped ??= stopNow();
      return stopped;
    },
    status(): ModuleStatus {
      const partitions: NonNullable<ModuleStatus["partitions"]> = {};
      let lagTotal = 0;
      for (const p of assigned) {
        const w = writers.get(p);
        const last = w?.lastArchived;
        const h = high.get(p);
        const lag = h === undefined
          ? undefined
          : Number(h - (last === undefined ? (low.get(p) ?? 0n) : last + 1n));
        if (lag !== undefined) lagTotal += Math.max(0, lag);
        partitions[p] = {
          offset: last?.toString(),
          lag: lag === undefined ? undefined : Math.max(0, lag),
        };
      }
      let backlog = 0;
      for (const w of writers.values()) backlog += w.backlog;
      return {
        eventsIn,
        eventsOut,
        lastFlushAt,
        partitions,
        extra: {
          bytesUploaded,
          objectsUploaded: [...writers.values()].reduce((n, w) => n + w.objectsUploaded, 0),
          uploadBacklog: backlog,
          pausedPartitions: pausedSet.size,
          lag: lagTotal,
        },
      };
    },
    archived() {
      return new Map([...writers].map(([p, w]) => [p, w.lastArchived]));
    },
    paused() {
      return [...pausedSet];
    },
  };
}
