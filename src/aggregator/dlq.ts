/**
 * The dead-letter topic: malformed records are re-published there with headers naming the
 * reason, the detail, and where they came from. The DLQ key is `<topic>/<partition>/<offset>`
 * so a consumer of the DLQ can drop the copies a crash between "DLQ sent" and "Postgres
 * committed" can cause (at-least-once into the DLQ, de-duplicable by key).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import type { Kafka, Message, Producer } from "kafkajs";
import { ensureTopic } from "../kafka/mod.ts";
import type { DeadRecord } from "./partials.ts";

/** Header names on every DLQ record. */
export const DLQ_HEADERS = {
  reason: "nexus-dlq-reason",
  detail: "nexus-dlq-detail",
  topic: "nexus-dlq-original-topic",
  partition: "nexus-dlq-original-partition",
  offset: "nexus-dlq-original-offset",
  key: "nexus-dlq-original-key",
} as const;

/** The DLQ key of a source record. */
export function dlqKey(topic: string, partition: number, offset: number): string {
  return `${topic}/${partition}/${offset}`;
}

/** Builds the DLQ message for one malformed record. */
export function dlqMessage(topic: string, partition: number, d: DeadRecord): Message {
  const headers: Record<string, Buffer> = {
    [DLQ_HEADERS.reason]: Buffer.from(d.reason),
    [DLQ_HEADERS.detail]: Buffer.from(d.detail.slice(0, 500)),
    [DLQ_HEADERS.topic]: Buffer.from(topic),
    [DLQ_HEADERS.partition]: Buffer.from(String(partition)),
    [DLQ_HEADERS.offset]: Buffer.from(String(d.offset)),
  };
  if (d.key) headers[DLQ_HEADERS.key] = Buffer.from(d.key);
  return {
    key: dlqKey(topic, partition, d.offset),
    value: d.value ? Buffer.from(d.value) : null,
    headers,
  };
}

/** Producer of dead letters. */
export class DeadLetterQueue {
  readonly topic: string;
  readonly #producer: Producer;
  readonly #kafka: Kafka;

  constructor(kafka: Kafka, topic: string) {
    this.#kafka = kafka;
    this.topic = topic;
    this.#producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  /** Creates the DLQ topic if missing and connects the producer. */
  async start(partitions: number): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      await ensureTopic(admin, this.topic, partitions);
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await this.#producer.connect();
  }

  /** Sends dead letters (acks from all in-sync replicas) and marks them produced. */
  async send(topic: string, partition: number, dead: DeadRecord[]): Promise<void> {
    const todo = dead.filter((d) => !d.produced);
    if (todo.length === 0) return;
    await this.#producer.send({
      topic: this.topic,
      acks: -1,
      messages: todo.map((d) => dlqMessage(topic, partition, d)),
    });
    for (const d of todo) d.produced = true;
  }

  /** Disconnects the producer. */
  async stop(): Promise<void> {
    await this.#producer.disconnect().catch(() => {});
  }
}
