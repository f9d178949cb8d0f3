/**
 * The dead-letter topic: malformed records are re-published there with headers naming the
 * reason, the detail, and where they came from. The DLQ key is `<topic>/<partition>/<offset>`
 * so a consumer of the DLQ can drop the copies a crash between "DLQ sent" and "Postgres
 * committed" can cause (at-least-once into the DLQ, de-duplicable by key).
 *
 * @module
 */
import type { Admin, OutRecord, Producer } from "../kafka/mod.ts";
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
export function dlqKey(topic: string, partition: number, offset: bigint): string {
  return `${topic}/${partition}/${offset}`;
}

/** Builds the DLQ record for one malformed record (value byte-exact, tombstones stay null). */
export function dlqRecord(topic: string, partition: number, d: DeadRecord): OutRecord {
  const headers: Record<string, Uint8Array | string> = {
    [DLQ_HEADERS.reason]: d.reason,
    [DLQ_HEADERS.detail]: d.detail.slice(0, 500),
    [DLQ_HEADERS.topic]: topic,
    [DLQ_HEADERS.partition]: String(partition),
    [DLQ_HEADERS.offset]: String(d.offset),
  };
  if (d.key) headers[DLQ_HEADERS.key] = d.key;
  return { key: dlqKey(topic, partition, d.offset), value: d.value, headers };
}

/** Producer of dead letters. */
export class DeadLetterQueue {
  readonly topic: string;
  readonly #producer: Producer;

  /** `producer` is owned by the queue from now on (closed by `stop`). */
  constructor(producer: Producer, topic: string) {
    this.#producer = producer;
    this.topic = topic;
  }

  /** Creates the DLQ topic with `partitions` partitions if it is missing. */
  async start(admin: Admin, partitions: number): Promise<void> {
    await admin.ensureTopic(this.topic, partitions);
  }

  /** Sends dead letters (acks from all in-sync replicas) and marks them produced. */
  async send(topic: string, partition: number, dead: DeadRecord[]): Promise<void> {
    const todo = dead.filter((d) => !d.produced);
    if (todo.length === 0) return;
    await this.#producer.send(this.topic, todo.map((d) => dlqRecord(topic, partition, d)));
    for (const d of todo) d.produced = true;
  }

  /** Closes the producer. */
  async stop(): Promise<void> {
    await this.#producer.close();
  }
}
