/**
 * Sending generated records to Kafka: batched, idempotent (acks = all, per-partition order
 * holds), every send awaited and acknowledged partition by partition, nothing dropped
 * silently — a send that still fails after the client's own retries ends the run with an
 * error (not retried again here: a new attempt would carry new sequence numbers, so the
 * broker could no longer drop a batch it had already written).
 *
 * Records are placed by Kafka's default key partitioner (murmur2, `src/kafka/partitioner.ts`),
 * so the same seed gives the same per-partition end offsets whichever client sends them.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Config } from "../config/mod.ts";
import { createKafkaClient, keyPartitioner, type OutRecord, type Producer } from "../kafka/mod.ts";
import { type Manifest, ManifestBuilder } from "./manifest.ts";
import { DEFAULT_SEND_BATCH, type StreamParams } from "./params.ts";
import { type GeneratedRecord, generateStream, type StreamOptions } from "./stream.ts";

/** Options of `produceStream` and `sendRecords`. */
export interface ProduceOptions {
  /** Called after each acknowledged batch with the total records sent so far. */
  onProgress?(sent: number): void;
  /** Messages per send (default `DEFAULT_SEND_BATCH`). */
  batchSize?: number;
  /** Sending rate cap in records/s (default: as fast as possible). */
  rate?: number;
  /** Stops sending after the current batch. */
  signal?: AbortSignal;
  /** Partitions if the topic must be created (default config.partitions). */
  partitions?: number;
  /** Stream options (live clock, self-check). */
  stream?: StreamOptions;
}

/** Creates the idempotent producer the generator uses. */
export function createProducer(config: Config): Producer {
  return createKafkaClient(config, { clientSuffix: "generator" }).producer();
}

/**
 * Creates `topic` (with `partitions`) when it does not exist yet; resolves to the number of
 * partitions it has.
 */
export async function ensureClickTopic(
  config: Config,
  topic: string,
  partitions: number,
): Promise<number> {
  const admin = createKafkaClient(config, { clientSuffix: "generator-admin" }).admin();
  try {
    const count = await admin.ensureTopic(topic, partitions);
    if (count === 0) {
      throw new Error(
        `Cannot produce to topic "${topic}": the brokers report no partitions for it ` +
          `(check KAFKA_BROKERS and that the brokers are healthy)`,
      );
    }
    return count;
  } finally {
    await admin.close();
  }
}

/** Encoded keys kept by `sendRecords` (user ids: the default catalog has far fewer). */
const MAX_CACHED_KEYS = 100_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `records` to `topic` (which has `partitions` partitions) in batches with one batch in
 * flight: the next batch is built while the previous one is being acknowledged. Resolves to
 * the number of records sent.
 */
export async function sendRecords(
  producer: Producer,
  topic: string,
  partitions: number,
  records: Iterable<GeneratedRecord>,
  options: ProduceOptions & { onRecord?(rec: GeneratedRecord): void } = {},
): Promise<number> {
  const rate = options.rate;
  const batchSize = Math.max(
    1,
    Math.min(
      options.batchSize ?? DEFAULT_SEND_BATCH,
      rate ? Math.max(1, Math.floor(rate / 10)) : Infinity,
    ),
  );
  const partitionOf = keyPartitioner(partitions);
  const started = performance.now();
  let sent = 0;
  let queued = 0;
  let inflight: Promise<void> | undefined;
  let batch: OutRecord[] = [];
  let batchLength = 0;
  const flush = async () => {
    if (inflight) await inflight;
    inflight = undefined;
    if (batchLength === 0) return;
    const records = batch;
    const length = batchLength;
    batch = [];
    batchLength = 0;
    queued += length;
    if (rate) {
      // throttle: the batch may go once the schedule for `queued` records is reached
      const due = started + (queued - length) / rate * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    inflight = producer.send(topic, records).then((acks) => {
      const acked = acks.reduce((n, a) => n + a.count, 0);
      if (acked !== length) {
        throw new Error(
          `Cannot confirm the send to topic "${topic}": ${acked} of ${length} records acknowledged`,
        );
      }
      sent += length;
      options.onProgress?.(sent);
    });
    // surface a failure even if nobody awaits before the next flush
    inflight.catch(() => {});
  };
  // Keys (user ids) repeat: encode each and place it once, not once per record.
  const keys = new Map<string, { bytes: Buffer; partition: number }>();
  for (const rec of records) {
    options.onRecord?.(rec);
    let key = keys.get(rec.key);
    if (!key) {
      if (keys.size >= MAX_CACHED_KEYS) keys.clear();
      const bytes = Buffer.from(rec.key);
      keys.set(rec.key, key = { bytes, partition: partitionOf(bytes) });
    }
    batch.push({ key: key.bytes, value: rec.value, partition: key.partition });
    if (++batchLength >= batchSize) {
      await flush();
      if (options.signal?.aborted) break;
    }
  }
  await flush();
  if (inflight) await inflight;
  return sent;
}

/**
 * Generates the stream of `p` and sends it to `topic` (created with `partitions` or
 * config.partitions when missing). Resolves to the manifest of exactly what was sent.
 */
export async function produceStream(
  config: Config,
  topic: string,
  p: StreamParams,
  opts: ProduceOptions = {},
): Promise<Manifest> {
  const partitions = await ensureClickTopic(config, topic, opts.partitions ?? config.partitions);
  const producer = createProducer(config);
  try {
    const builder = new ManifestBuilder(p);
    await sendRecords(producer, topic, partitions, generateStream(p, opts.stream), {
      ...opts,
      onRecord: (rec) => builder.add(rec),
    });
    if (opts.signal?.aborted) throw new Error("produceStream aborted before the end");
    return builder.finish();
  } finally {
    await producer.close();
  }
}
