/**
 * The archiver module: consumes the click topic in its own consumer group and writes every
 * record, exactly once, into gzip NDJSON objects in the archive bucket.
 *
 * Per partition a `PartitionWriter` recovers its position from the S3 ledger (not from Kafka's
 * committed offset), seeks there, cuts batches and uploads them in order. Kafka offsets are
 * committed only after an object is durable. Batches are held as gzip bytes and all partitions
 * share one memory budget (`budget.ts`, `NEXUS_ARCHIVE_MAX_BUFFER_BYTES`): over it the largest
 * open batch is closed early, and while closed batches alone fill it (S3 slow or down) fetching
 * pauses (`consumer.pause`) until uploads drain; a partition with `maxQueued` closed batches
 * pauses too.
 *
 * Start position: on every assignment each partition recovers from the ledger right away (not
 * only when a fetch returns records: with the group's committed offset at the end of the log no
 * batch would ever arrive) and seeks there; with no ledger entry that is the earliest retained
 * offset, whatever the group committed.
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
import { BufferBudget, DEFAULT_MAX_BUFFER_BYTES } from "./budget.ts";
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
  /**
   * Memory budget of all buffered batches, bytes. Default `NEXUS_ARCHIVE_MAX_BUFFER_BYTES`
   * (config `archiveMaxBufferBytes`), else 64 MiB.
   */
  maxBufferBytes?: number;
  /** Skip the start-up checks (tests with a fake store). */
  skipChecks?: boolean;
  /** Consumer-group session timeout in ms. Default: `NEXUS_KAFKA_SESSION_TIMEOUT_MS`. */
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
  /** The shared buffer budget (tests and status). */
  budget: BufferBudget;
}

/** The budget from options, then config (`archiveMaxBufferBytes`), then the default. */
export function bufferBudgetBytes(
  config: ModuleContext["config"],
  options: ArchiverOptions = {},
): number {
  return options.maxBufferBytes ?? config.archiveMaxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
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
  const sessionTimeout = options.sessionTimeoutMs ?? config.kafkaSessionTimeoutMs;
  const consumer: Consumer = kafka.consumer({
    groupId: config.archiverGroup,
    sessionTimeout,
    rebalanceTimeout: 2 * sessionTimeout,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeout / 3)),
    // fetched bytes live outside the buffer budget (kafkajs re-concatenates each response):
    // 1 MiB per partition measured the same MB/s as 4 MiB with ~60 MB less peak RSS at 6
    // partitions
    maxBytesPerPartition: 1024 * 1024,
    // kafkajs sleeps this long when every partition is paused, and a resumed partition waits
    // for the fetch in flight: keep it short so back-pressure pauses do not stall catch-up.
    maxWaitTimeInMs: 250,
    retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 10_000 },
  });

  const budget = new BufferBudget(bufferBudgetBytes(config, options));
  const maxQueued = options.maxQueued ?? 2;
  const writers = new Map<number, PartitionWriter>();
  /** Eager recoveries in flight, per partition (one at a time). */
  const preparing = new Map<number, Promise<void>>();
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

  /** Resumes every paused partition whose writer has room, unless the budget is full. */
  function resumeEligible(): void {
    budget.enforce();
    if (budget.blocked) return;
    for (const p of [...pausedSet]) {
      const w = writers.get(p);
      if (!w || w.backlog < maxQueued) resume(p);
    }
  }

  /**
   * Recovers partition `p` from the ledger (once; concurrent callers share it) and seeks the
   * consumer to the recovered offset. With an empty ledger that is the earliest retained
   * offset: the ledger, not the group's committed offset, says what is archived. Warns when
   * the group's committed offset is ahead of the archive (those records would otherwise be a
   * silent gap) and when retention already removed the start of the partition.
   */
  function prepare(p: number, w: PartitionWriter): Promise<void> {
    let job = preparing.get(p);
    if (job) return job;
    job = (async () => {
      await refreshOffsets().catch(() => {});
      const floor = low.get(p) ?? 0n;
      const r = await w.init(floor, 15_000);
      if (w.aborted || stopping || writers.get(p) !== w) return;
      const next = w.expected();
      // Seek before any record of this assignment is offered: a batch fetched from elsewhere
      // is then stale, and the next fetch starts at `next`.
      lastSeek.set(p, next);
      consumer.seek({ topic, partition: p, offset: next.toString() });
      if (!r.last && !r.pending) {
        if (floor > 0n) {
          log.warn("no archive yet for this partition and retention already deleted its start", {
            partition: p,
            earliestRetained: floor.toString(),
          });
        } else {
          log.info("no archive yet for this partition: archiving from the earliest offset", {
            partition: p,
          });
        }
      }
      const committed = await committedOffset(p).catch(() => undefined);
      if (committed !== undefined && committed > next) {
        log.warn(
          "the group's committed offset is ahead of the archive ledger: archiving from the ledger position (Kafka's committed offset is ignored)",
          {
            partition: p,
            group: config.archiverGroup,
            committed: committed.toString(),
            archiveNext: next.toString(),
            records: (committed - next).toString(),
          },
        );
      }
    })().finally(() => preparing.delete(p));
    preparing.set(p, job);
    return job;
  }

  async function committedOffset(p: number): Promise<bigint | undefined> {
    const res = await admin.fetchOffsets({ groupId: config.archiverGroup, topics: [topic] });
    const o = res.find((t) => t.topic === topic)?.partitions.find((x) => x.partition === p);
    if (!o || o.offset === "-1" || o.offset === "") return undefined;
    return BigInt(o.offset);
  }

  function prepareInBackground(p: number): void {
    const w = writers.get(p) ?? writerFor(p);
    if (w.ready || stopping) return;
    prepare(p, w).catch((e) => {
      if (!(e instanceof RetryAborted)) {
        log.warn("partition recovery failed; retrying", { partition: p, error: reasonOf(e) });
      }
    });
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
      maxQueued,
      budget,
      onDurable: async (entry, body) => {
        eventsOut += entry.records;
        bytesUploaded += body;
        lastFlushAt = Date.now();
        await consumer.commitOffsets([
          { topic, partition: p, offset: (BigInt(entry.end) + 1n).toString() },
        ]);
      },
      onDrained: () => {
        resume(p);
        resumeEligible();
      },
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
      if (pausedSet.has(p) && (writers.get(p)?.backlog ?? 0) < maxQueued) resume(p);
    }
    assigned = now;
    // Recover and seek every assigned partition now, not when its first records arrive: a
    // partition whose committed offset is at the log end would never get a batch.
    for (const p of now) prepareInBackground(p);
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
        await prepare(p, w);
      } catch (e) {
        if (e instanceof RetryAborted) return;
        throw e;
      } finally {
        clearInterval(hb);
      }
      if (w.aborted || stopping || isStale()) return;
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
    resumeEligible();
    for (const p of assigned) {
      if (!writers.get(p)?.ready && !preparing.has(p)) prepareInBackground(p);
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
          bufferedBytes: budget.total(),
          bufferBudgetBytes: budget.limit,
          earlyCuts: budget.earlyCuts,
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
    budget,
  };
}
