/**
 * The `@platformatic/kafka` transport, for the client comparison in the benchmark only
 * (pinned in the import map; the modules themselves use kafkajs).
 *
 * @module
 */
import { Consumer, type Message, Producer } from "@platformatic/kafka";
import type { Config } from "../src/config/mod.ts";
import {
  type ConsumeOptions,
  type Consuming,
  type InBatch,
  keyBytes,
  type Landed,
  type OutMessage,
  type Transport,
} from "../src/kafka/transport.ts";

/** Pinned version of the alternative client. */
export const PLATFORMATIC_VERSION = "2.12.1";

/** `@platformatic/kafka` behind the benchmark's `Transport`. */
export class PlatformaticTransport implements Transport {
  readonly name = `@platformatic/kafka ${PLATFORMATIC_VERSION}`;
  #config: Config;
  #producer?: Producer;
  #consumers = new Set<Consumer>();

  constructor(config: Config) {
    this.#config = config;
  }

  async produceBatch(topic: string, messages: OutMessage[]): Promise<Landed[]> {
    this.#producer ??= new Producer({
      clientId: "nexus-bench-platformatic",
      bootstrapBrokers: this.#config.kafkaBrokers,
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
    const res = await this.#producer.send({
      messages: messages.map((m) => ({
        topic,
        key: keyBytes(m.key),
        value: m.value,
        partition: m.partition,
      })),
    });
    return (res.offsets ?? []).map((o) => ({
      partition: o.partition,
      baseOffset: BigInt(o.offset),
    }));
  }

  async consume(topic: string, options: ConsumeOptions): Promise<Consuming> {
    const consumer = new Consumer({
      clientId: "nexus-bench-platformatic",
      groupId: options.groupId,
      bootstrapBrokers: this.#config.kafkaBrokers,
      maxBytesPerPartition: 1024 * 1024,
    });
    this.#consumers.add(consumer);
    const stream = await consumer.consume({ topics: [topic], mode: "earliest", autocommit: false });
    // The client emits single messages; group what arrives in one turn per partition.
    let pending = new Map<number, InBatch>();
    let scheduled = false;
    let chain: Promise<void> = Promise.resolve();
    const deliver = () => {
      scheduled = false;
      const ready = pending;
      pending = new Map();
      for (const b of ready.values()) {
        chain = chain.then(() => options.onBatch(b));
      }
    };
    stream.on("data", (m: Message) => {
      let b = pending.get(m.partition);
      if (!b) pending.set(m.partition, b = { topic: m.topic, partition: m.partition, records: [] });
      b.records.push({
        key: m.key ?? null,
        value: m.value ?? null,
        offset: m.offset,
      });
      if (!scheduled) {
        scheduled = true;
        setTimeout(deliver, 0);
      }
    });
    stream.on("error", () => {});
    return {
      stop: async () => {
        this.#consumers.delete(consumer);
        await stream.close().catch(() => {});
        await consumer.close(true).catch(() => {});
        await chain.catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    const p = this.#producer;
    this.#producer = undefined;
    await p?.close().catch(() => {});
    for (const c of [...this.#consumers]) await c.close(true).catch(() => {});
    this.#consumers.clear();
  }
}
