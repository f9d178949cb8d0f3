/**
 * Sending generated records to Kafka: batched, idempotent (acks -1, one request in flight
 * so per-partition order holds), every send awaited, retriable failures retried, nothing
 * dropped silently — a send that still fails ends the run with an error.
 *
 * @module
 */
import { type Message, Partitioners, type Producer } from "kafkajs";
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

/** Creates `topic` (with `partitions`) when it does not exist yet. */
export async function ensureClickTopic(
  config: Config,
  topic: string,
  partitions: number,
): Promise<boolean> {
  const admin = createKafka(config, { clientSuffix: "generator-admin" }).admin();
  await admin.connect();
  try {
    return await ensureTopic(admin, topic, partitions);
  } finally {
    await admin.disconnect().catch(() => {});
  }
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
      await producer.send({ topic, messages, acks: -1 });
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Sends `records` to `topic` in batches with one send in flight: the next batch is built
 * while the previous one is being acknowledged. Resolves to the number of records sent.
 */
export async function sendRecords(
  producer: Producer,
  topic: string,
  records: Iterable<GeneratedRecord>,
  options: ProduceOptions & { onRecord?(rec: GeneratedRecord): void } = {},
): Promise<number> {
  const rate = options.rate;
  const batchSize = Math.max(
    1,
    Math.min(options.batchSize ?? 4000, rate ? Math.max(1, Math.floor(rate / 10)) : Infinity),
  );
  const started = performance.now();
  let sent = 0;
  let queued = 0;
  let inflight: Promise<void> | undefined;
  let batch: Message[] = [];
  const flush = async () => {
    if (inflight) await inflight;
    inflight = undefined;
    if (batch.length === 0) return;
    const messages = batch;
    batch = [];
    queued += messages.length;
    if (rate) {
      // throttle: the batch may go once the schedule for `queued` records is reached
      const due = started + (queued - messages.length) / rate * 1000;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    inflight = sendWithRetry(producer, topic, messages).then(() => {
      sent += messages.length;
      options.onProgress?.(sent);
    });
    // surface a failure even if nobody awaits before the next flush
    inflight.catch(() => {});
  };
  for (const rec of records) {
    options.onRecord?.(rec);
    batch.push({ key: rec.key, value: rec.value });
    if (batch.length >= batchSize) {
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
  await ensureClickTopic(config, topic, opts.partitions ?? config.partitions);
  const producer = createProducer(config);
  await producer.connect();
  try {
    const builder = new ManifestBuilder(p);
    await sendRecords(producer, topic, generateStream(p, opts.stream), {
      ...opts,
      onRecord: (rec) => builder.add(rec),
    });
    if (opts.signal?.aborted) throw new Error("produceStream aborted before the end");
    return builder.finish();
  } finally {
    await producer.disconnect().catch(() => {});
  }
}
