/**
 * Sending generated records to Kafka: batched, idempotent (acks -1, one request in flight
 * so per-partition order holds), every send awaited, retriable failures retried, nothing
 * dropped silently — a send that still fails ends the run with an error.
 *
 * Each batch goes out as one `send` per partition. kafkajs retries a failed `send` only
 * towards the brokers that have not answered yet: when a partition's leader moves to a broker
 * that already took its other partitions of the same `send`, that partition is skipped
 * (tulios/kafkajs#1798), so records are lost, or the idempotent producer's sequence numbers
 * no longer match the broker's ("out of order sequence number", seen when a broker of a
 * cluster is killed mid-stream). Within one partition a retry can only go to its new leader.
 *
 * @module
 */
import { type Message, Partitioners, type PartitionMetadata, type Producer } from "kafkajs";
import type { Config } from "../config/mod.ts";
import { createKafka, ensureTopic } from "../kafka/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import { type Manifest, ManifestBuilder } from "./manifest.ts";
import type { StreamParams } from "./params.ts";
import { type GeneratedRecord, generateStream, type StreamOptions } from "./stream.ts";

/** Options of `produceStream` and `sendRecords`. */
export interface ProduceOptions {
  /** Called after each acknowledged batch with the total records sent so far. */
  onProgress?(sent: number): void;
  /** Messages per send (default 4000). */
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
  return createKafka(config, { clientSuffix: "generator" }).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 10, initialRetryTime: 300, maxRetryTime: 10_000 },
  });
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
  const admin = createKafka(config, { clientSuffix: "generator-admin" }).admin();
  await admin.connect();
  try {
    const count = await ensureTopic(admin, topic, partitions);
    if (count === 0) {
      throw new Error(
        `Cannot produce to topic "${topic}": the brokers report no partitions for it ` +
          `(check KAFKA_BROKERS and that the brokers are healthy)`,
      );
    }
    return count;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * The partition kafkajs's default (Java-compatible, murmur2) partitioner gives each key for a
 * topic with `partitions` partitions: the same placement as a send without explicit partitions.
 */
export function keyPartitioner(topic: string, partitions: number): (key: string) => number {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata: PartitionMetadata[] = Array.from({ length: partitions }, (_, i) => ({
    partitionErrorCode: 0,
    partitionId: i,
    leader: 0,
    replicas: [0],
    isr: [0],
  }));
  return (key) => partitioner({ topic, partitionMetadata, message: { key, value: null } });
}

function isRetriable(e: unknown): boolean {
  const err = e as { retriable?: boolean; name?: string; cause?: unknown };
  if (err?.retriable === true) return true;
  return /KafkaJSConnectionError|KafkaJSRequestTimeoutError|KafkaJSNumberOfRetriesExceeded/
    .test(err?.name ?? "");
}

async function sendWithRetry(producer: Producer, topic: string, messages: Message[]) {
  for (let attempt = 1;; attempt++) {
    try {
      const landed = await producer.send({ topic, messages, acks: -1 });
      const partition = messages[0]?.partition;
      if (!landed.some((m) => m.partition === partition && m.errorCode === 0)) {
        throw new Error(
          `Cannot confirm the send to topic "${topic}": no acknowledgement for partition ` +
            `${partition} in ${JSON.stringify(landed)}`,
        );
      }
      return;
    } catch (e) {
      // kafkajs has already retried internally; a few more attempts ride out a broker
      // restart. The idempotent producer keeps its sequence numbers, so the broker drops
      // any batch it had already written.
      if (attempt >= 5 || !isRetriable(e)) {
        throw new Error(`Cannot send to topic "${topic}": ${reasonOf(e)}`, { cause: e });
      }
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** Sends one batch as one `send` per partition (see the module doc), all acknowledged. */
async function sendBatch(producer: Producer, topic: string, byPartition: Map<number, Message[]>) {
  await Promise.all([...byPartition.values()].map((m) => sendWithRetry(producer, topic, m)));
}

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
    Math.min(options.batchSize ?? 4000, rate ? Math.max(1, Math.floor(rate / 10)) : Infinity),
  );
  const partitionOf = keyPartitioner(topic, partitions);
  const started = performance.now();
  let sent = 0;
  let queued = 0;
  let inflight: Promise<void> | undefined;
  let batch = new Map<number, Message[]>();
  let batchLength = 0;
  const flush = async () => {
    if (inflight) await inflight;
    inflight = undefined;
    if (batchLength === 0) return;
    const byPartition = batch;
    const length = batchLength;
    batch = new Map();
    batchLength = 0;
    queued += length;
    if (rate) {
      // throttle: the batch may go once the schedule for `queued` records is reached
      const due = started + (queued - length) / rate * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    inflight = sendBatch(producer, topic, byPartition).then(() => {
      sent += length;
      options.onProgress?.(sent);
    });
    // surface a failure even if nobody awaits before the next flush
    inflight.catch(() => {});
  };
  for (const rec of records) {
    options.onRecord?.(rec);
    const partition = partitionOf(rec.key);
    const messages = batch.get(partition);
    const message = { key: rec.key, value: rec.value, partition };
    if (messages) messages.push(message);
    else batch.set(partition, [message]);
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
  await producer.connect();
  try {
    const builder = new ManifestBuilder(p);
    await sendRecords(producer, topic, partitions, generateStream(p, opts.stream), {
      ...opts,
      onRecord: (rec) => builder.add(rec),
    });
    if (opts.signal?.aborted) throw new Error("produceStream aborted before the end");
    return builder.finish();
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
