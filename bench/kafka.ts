/**
 * What the benchmark needs of Kafka beyond the port (`src/kafka/mod.ts`): per-record offsets
 * of a produced batch, and the client names and libraries it compares.
 *
 * @module
 */
import type { Config } from "../src/config/mod.ts";
import {
  createKafkaClient,
  KAFKA_CLIENTS,
  type KafkaClientName,
  type PartitionAck,
} from "../src/kafka/mod.ts";

/** The adapters the `clients` section compares, in that order. */
export const BENCH_CLIENTS: readonly KafkaClientName[] = KAFKA_CLIENTS;

/** `@platformatic/kafka 2.12.1` / `kafkajs 2.2.4`: the library behind an adapter. */
export function clientLibrary(config: Config, client: KafkaClientName): string {
  // building a client opens no connection (every factory makes its own)
  return createKafkaClient(config, { client }).library;
}

/** Parses `--client` (and `NEXUS_KAFKA_CLIENT`-style) values; throws one line. */
export function parseClientName(raw: string, what = "--client"): KafkaClientName {
  const c = BENCH_CLIENTS.find((x) => x === raw);
  if (!c) throw new Error(`${what} is "${raw}": expected ${BENCH_CLIENTS.join(" or ")}`);
  return c;
}

/**
 * Per-record offsets of a produced batch: records of one partition get consecutive offsets
 * from that partition's base offset, in the order they were given (the port's producer keeps
 * per-partition order). One offset per record; undefined when the record had no explicit
 * partition or no acknowledgement covers it.
 */
export function messageOffsets(
  records: readonly { partition?: number }[],
  acks: readonly Pick<PartitionAck, "partition" | "baseOffset" | "count">[],
): (bigint | undefined)[] {
  const next = new Map<number, { offset: bigint; left: number }>();
  for (const a of acks) next.set(a.partition, { offset: a.baseOffset, left: a.count });
  return records.map((r) => {
    if (r.partition === undefined) return undefined;
    const n = next.get(r.partition);
    if (!n || n.left <= 0) return undefined;
    const o = n.offset;
    n.offset = o + 1n;
    n.left--;
    return o;
  });
}
