/**
 * A small interface over a Kafka client: produce a batch, consume batches with offsets. Just
 * what the benchmark needs to compare clients (kafkajs here; `@platformatic/kafka` in
 * bench/transport_platformatic.ts) on the same workload. The modules keep using kafkajs
 * directly.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Consumer, Producer } from "kafkajs";
import type { Config } from "../config/mod.ts";
import { createKafka } from "./client.ts";

/** One message to produce. Without `partition` the client's default partitioner picks one. */
export interface OutMessage {
  key: string | Buffer;
  value: Buffer;
  partition?: number;
}

/** One consumed record. */
export interface InRecord {
  key: Buffer | null;
  value: Buffer | null;
  offset: bigint;
}

/** Records of one partition, in offset order. */
export interface InBatch {
  topic: string;
  partition: number;
  records: InRecord[];
}

/** Where a produced batch landed: the first offset written in each partition it touched. */
export interface Landed {
  partition: number;
  baseOffset: bigint;
}

/** Options of `Transport.consume`. */
export interface ConsumeOptions {
  groupId: string;
  /** Called for each fetched batch; the next batch of that partition waits for it. */
  onBatch(batch: InBatch): void | Promise<void>;
}

/** A running consumer. */
export interface Consuming {
  stop(): Promise<void>;
}

/** A Kafka client behind the benchmark's interface. */
export interface Transport {
  /** Client name and version, e.g. `kafkajs 2.2.4`. */
  readonly name: string;
  /** Sends `messages` (acks = all, idempotent) and resolves once all are acknowledged. */
  produceBatch(topic: string, messages: OutMessage[]): Promise<Landed[]>;
  /** Reads `topic` from the earliest offset in consumer group `groupId`. */
  consume(topic: string, options: ConsumeOptions): Promise<Consuming>;
  /** Closes every connection. Idempotent. */
  close(): Promise<void>;
}

/**
 * Per-message offsets of a produced batch: messages of one partition get consecutive offsets
 * from that partition's base offset, in the order they were given. Returns one offset per
 * message (undefined when the message had no explicit partition or its partition is missing).
 */
export function messageOffsets(
  messages: readonly { partition?: number }[],
  landed: readonly Landed[],
): (bigint | undefined)[] {
  const next = new Map<number, bigint>();
  for (const l of landed) next.set(l.partition, l.baseOffset);
  return messages.map((m) => {
    if (m.partition === undefined) return undefined;
    const o = next.get(m.partition);
    if (o === undefined) return undefined;
    next.set(m.partition, o + 1n);
    return o;
  });
}

/** The kafkajs transport (idempotent producer, acks -1, `eachBatch` consumer). */
export class KafkajsTransport implements Transport {
  readonly name = "kafkajs 2.2.4";
  #config: Config;
  #producer?: Producer;
  #consumers = new Set<Consumer>();

  constructor(config: Config) {
    this.#config = config;
  }

  async produceBatch(topic: string, messages: OutMessage[]): Promise<Landed[]> {
    if (!this.#producer) {
      const p = createKafka(this.#config, { clientSuffix: "bench-kafkajs" }).producer({
        idempotent: true,
        maxInFlightRequests: 1,
      });
      await p.connect();
      this.#producer = p;
    }
    const res = await this.#producer.send({
      topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.key, value: m.value, partition: m.partition })),
    });
    return res.map((r) => ({ partition: r.partition, baseOffset: BigInt(r.baseOffset ?? "0") }));
  }

  async consume(topic: string, options: ConsumeOptions): Promise<Consuming> {
    const consumer = createKafka(this.#config, { clientSuffix: "bench-kafkajs" }).consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: 1024 * 1024,
    });
    this.#consumers.add(consumer);
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        await options.onBatch({
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages.map((m) => ({
            key: m.key ?? null,
            value: m.value ?? null,
            offset: BigInt(m.offset),
          })),
        });
      },
    });
    return {
      stop: async () => {
        this.#consumers.delete(consumer);
        await consumer.disconnect().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    await p?.disconnect().catch(() => {});
    for (const c of [...this.#consumers]) await c.disconnect().catch(() => {});
    this.#consumers.clear();
  }
}

/** Bytes of a key given as a string or bytes. */
export function keyBytes(key: string | Buffer): Buffer {
  return typeof key === "string" ? Buffer.from(key) : key;
}
