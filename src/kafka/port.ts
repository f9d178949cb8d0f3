/**
 * The Kafka port: the only shape of Kafka the rest of Nexus sees. Two adapters implement it
 * (`platformatic.ts` over @platformatic/kafka, `kafkajs.ts` over kafkajs); `NEXUS_KAFKA_CLIENT`
 * picks one (`client.ts`). Nothing outside `src/kafka/` imports a Kafka client library.
 *
 * Offsets are `bigint` everywhere (Kafka's int64). Record keys and values are bytes
 * (`Uint8Array`; adapters may hand out `Buffer`s, which are `Uint8Array`s).
 *
 * @module
 */

/** Which adapter: `platformatic` (@platformatic/kafka) or `kafkajs`. */
export type KafkaClientName = "platformatic" | "kafkajs";

/** The adapters, in the order `--help` lists them. */
export const KAFKA_CLIENTS: readonly KafkaClientName[] = ["platformatic", "kafkajs"];

// The fetch bounds' defaults are settings (`NEXUS_KAFKA_FETCH_*`); the reasoning is written there.
export { DEFAULT_FETCH_MAX_BYTES, DEFAULT_PARTITION_FETCH_BYTES } from "../config/settings.ts";

/**
 * An error from the port. `retriable` says whether the same call may succeed later (broker
 * restarting, leader moving, timeouts) or never will without a change (authentication,
 * authorisation, a missing topic, a bad request).
 */
export class KafkaError extends Error {
  readonly retriable: boolean;
  /** Kafka's error name when the broker sent one, e.g. `NOT_LEADER_OR_FOLLOWER`. */
  readonly kafkaCode?: string;
  constructor(message: string, opts: { retriable: boolean; kafkaCode?: string; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = "KafkaError";
    this.retriable = opts.retriable;
    this.kafkaCode = opts.kafkaCode;
  }
}

/** One record to produce. */
export interface OutRecord {
  /** Bytes or UTF-8 text; null for no key. */
  key: Uint8Array | string | null;
  /** Null for a tombstone. */
  value: Uint8Array | null;
  /** Target partition; default: Java-compatible murmur2 of the key (`partitioner.ts`). */
  partition?: number;
  headers?: Record<string, Uint8Array | string>;
  /** Record timestamp in epoch ms; default: the producer's clock. */
  timestamp?: number;
}

/** What one partition acknowledged for a `send`. */
export interface PartitionAck {
  partition: number;
  /** Offset of the first record of this send in the partition. */
  baseOffset: bigint;
  /** Records of this send written to the partition. */
  count: number;
}

/** An idempotent producer (acks = all, one request in flight per partition: order holds). */
export interface Producer {
  /**
   * Sends `records` to `topic` and resolves once every partition they go to acknowledged them,
   * one `PartitionAck` per partition, in the order the partitions first appear.
   *
   * @throws {KafkaError} when a partition cannot be written (after the client's own retries).
   */
  send(topic: string, records: readonly OutRecord[]): Promise<PartitionAck[]>;
  /** Flushes and closes. Idempotent. */
  close(): Promise<void>;
}

/** Offsets of one partition: the first retained and the end (next to be written). */
export interface PartitionOffsets {
  low: bigint;
  high: bigint;
}

/** A broker as the cluster advertises it. */
export interface BrokerAddress {
  id: number;
  host: string;
  port: number;
}

/** Cluster and topic administration. */
export interface Admin {
  /** Topic names, internal ones (`__…`) excluded. */
  listTopics(): Promise<string[]>;
  /** The brokers the cluster advertises (the addresses clients will dial). */
  brokers(): Promise<BrokerAddress[]>;
  /**
   * Creates `topic` when missing and waits (up to `waitMs`, default 10 s) until every
   * partition has a leader. Resolves to the partition count (an existing topic keeps its own;
   * 0 when no metadata arrived in time).
   */
  ensureTopic(
    topic: string,
    partitions: number,
    options?: { configs?: Record<string, string>; replicas?: number; waitMs?: number },
  ): Promise<number>;
  /** Partition count of an existing topic. @throws {KafkaError} when it does not exist. */
  partitionCount(topic: string): Promise<number>;
  /** Leader and replica broker ids of every partition of `topic` (leader -1: none now). */
  partitionLeaders(topic: string): Promise<Map<number, { leader: number; replicas: number[] }>>;
  /** First and end offsets of every partition of `topic`. */
  offsets(topic: string): Promise<Map<number, PartitionOffsets>>;
  /** Offsets `group` committed on `topic`; partitions without a commit are absent. */
  committedOffsets(group: string, topic: string): Promise<Map<number, bigint>>;
  deleteTopics(topics: string[]): Promise<void>;
  deleteGroups(groups: string[]): Promise<void>;
  close(): Promise<void>;
}

/** One consumed record. */
export interface ConsumedRecord {
  offset: bigint;
  /** Record timestamp, epoch ms. */
  timestamp: number;
  key: Uint8Array | null;
  value: Uint8Array | null;
  /** Present only when the record has headers. */
  headers?: [string, Uint8Array][];
}

/** Records of one partition, in offset order, as one fetch returned them. */
export interface FetchedBatch {
  partition: number;
  records: ConsumedRecord[];
  /** The partition's end offset as the broker reported it with this batch (-1n: unknown). */
  highWatermark: bigint;
  /**
   * The offset this batch was fetched from, when the adapter knows it (own fetch loop). A
   * batch fetched from the expected position whose first record is further on proves the
   * offsets in between are not in the log (compaction, transaction markers).
   */
  fetchOffset?: bigint;
}

/** Why a partition stops being consumed. */
export type CloseReason =
  /** The group gave the partition to another member (rebalance). */
  | "revoked"
  /** This member lost its membership (session expired, fenced): someone else may own it. */
  | "lost"
  /** This process is stopping. */
  | "shutdown";

/** Where a group consumer reports membership changes, records and fatal errors. */
export interface GroupListener {
  /** Partitions added to this member. Nothing is fetched for them before `seek`. */
  assigned(partitions: number[]): void;
  /** Partitions taken away; no more records of them are delivered. */
  revoked(partitions: number[], reason: "revoked" | "lost"): void;
  /** Records of an assigned, sought, unpaused partition. Must not block. */
  records(batch: FetchedBatch): void;
  /** The consumer cannot go on (the client gave up); the module should stop. */
  failed(error: KafkaError): void;
}

/** How a group consumer joins its group and fetches. */
export interface GroupConsumerOptions {
  topic: string;
  group: string;
  /**
   * Static membership (`group.instance.id`): a restarted process with the same id takes its
   * partitions back without a rebalance. Unique per process. Unset: dynamic membership.
   */
  instanceId?: string;
  sessionTimeoutMs: number;
  /** Default: min(3 s, session timeout / 3). */
  heartbeatIntervalMs?: number;
  /** Default: 2 × session timeout. */
  rebalanceTimeoutMs?: number;
  /** Largest fetch per partition, bytes. Default {@linkcode DEFAULT_PARTITION_FETCH_BYTES}. */
  maxBytesPerPartition?: number;
  /**
   * Largest fetch response, bytes (the broker still returns at least one record batch, so an
   * oversized batch never stalls a partition). Default {@linkcode DEFAULT_FETCH_MAX_BYTES}.
   */
  maxBytes?: number;
  /** Longest time the broker holds a fetch when there is no data, ms. Default 500. */
  maxWaitMs?: number;
}

/** What a group consumer can and cannot do, so callers and docs need not guess. */
export interface GroupCapabilities {
  /** `cooperative`: a rebalance moves only the partitions that change owner. */
  rebalancing: "eager" | "cooperative";
  /** `group.instance.id` honoured. */
  staticMembership: boolean;
}

/** One member of a consumer group on one topic. */
export interface GroupConsumer {
  readonly capabilities: GroupCapabilities;
  /** Joins the group; resolves once the first join completed (assignment may be empty). */
  start(listener: GroupListener): Promise<void>;
  /**
   * Sets where `partition` is fetched from next and starts fetching it. Records already in
   * flight from an earlier position may still arrive (callers drop offsets they did not ask
   * for).
   */
  seek(partition: number, offset: bigint): void;
  /** Stops fetching `partition` until `resume`. */
  pause(partition: number): void;
  resume(partition: number): void;
  /** Commits offsets to the group (monitoring: Nexus keeps its own progress). Best effort. */
  commit(offsets: Map<number, bigint>): Promise<void>;
  /** Leaves the group and closes every connection. Idempotent. */
  close(): Promise<void>;
}

/** Reads ranges of a topic without a consumer group (tests, `rebuild`, tools). */
export interface TopicReader {
  /**
   * Calls `onBatch` with the records of each partition in `[from, to)` of `ranges`, in
   * offset order per partition, and resolves once every range is read.
   *
   * @throws {KafkaError} on a fatal error, or when `timeoutMs` (default 120 s) passes first.
   */
  read(
    topic: string,
    ranges: Map<number, { from: bigint; to: bigint }>,
    onBatch: (batch: FetchedBatch) => void | Promise<void>,
    options?: { timeoutMs?: number },
  ): Promise<void>;
  close(): Promise<void>;
}

/** A connected client of one adapter. Every factory creates its own connections. */
export interface KafkaClient {
  readonly name: KafkaClientName;
  /** Client library and version, e.g. `@platformatic/kafka 2.12.1`. */
  readonly library: string;
  producer(): Producer;
  admin(): Admin;
  groupConsumer(options: GroupConsumerOptions): GroupConsumer;
  reader(): TopicReader;
}
