/**
 * The kafkajs adapter of the Kafka port (`NEXUS_KAFKA_CLIENT=kafkajs`), kept for deployments
 * that chose kafkajs. What kafkajs 2.2.4 cannot do, and what that means here:
 *
 * - **Eager rebalancing only** (no cooperative protocol, KIP-429): every join or leave stops
 *   every partition of every member until the rebalance completes; partitions that keep their
 *   owner resume where they were (the core keeps their state).
 * - **No static membership** (KIP-345): a restarted process joins as a new member, so its
 *   partitions first wait out the session timeout of the old member. `NEXUS_INSTANCE_ID` is
 *   ignored (logged once).
 * - A failed multi-partition send is retried only towards brokers that have not answered
 *   (tulios/kafkajs#1798): the producer sends one request per partition.
 * - Under Deno it calls `setTimeout` with a negative delay; the resulting
 *   `TimeoutNegativeWarning` is dropped (`warnings.ts`).
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type Admin as LibAdmin,
  type Consumer as LibConsumer,
  type EachBatchPayload,
  Kafka,
  type KafkaConfig,
  logLevel,
  type Message,
  type Producer as LibProducer,
  type SASLOptions,
} from "kafkajs";
import { createLogger } from "../log/logger.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { KafkaConnection } from "./connection.ts";
import { keyPartitioner } from "./partitioner.ts";
import {
  type Admin,
  type BrokerAddress,
  type ConsumedRecord,
  DEFAULT_FETCH_MAX_BYTES,
  DEFAULT_PARTITION_FETCH_BYTES,
  type FetchedBatch,
  type GroupConsumer,
  type GroupConsumerOptions,
  type GroupListener,
  type KafkaClient,
  KafkaError,
  type OutRecord,
  type PartitionAck,
  type PartitionOffsets,
  type Producer,
  type TopicReader,
} from "./port.ts";
import { hideKafkajsTimerWarning } from "./warnings.ts";

/** The pinned library version (import map). */
export const KAFKAJS_VERSION = "2.2.4";

/** kafkajs's client config for `conn`, its log routed to Nexus's logger. */
function libConfig(conn: KafkaConnection, retries = 8): KafkaConfig {
  const log = createLogger("kafkajs");
  return {
    clientId: conn.clientId,
    brokers: conn.brokers,
    sasl: conn.sasl ? { ...conn.sasl } as SASLOptions : undefined,
    ssl: conn.tls ? (conn.tls.ca ? { ca: [conn.tls.ca] } : true) : undefined,
    connectionTimeout: conn.connectTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    retry: { retries, initialRetryTime: 300, maxRetryTime: 10_000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log: entry }) => {
      const { message, ...rest } = entry;
      // kafkajs logs transient protocol errors at ERROR while it retries them itself.
      const fields = { ns: namespace, broker: rest.broker, error: rest.error };
      if (level <= logLevel.ERROR) log.warn(message, fields);
      else log.debug(message, fields);
    },
  };
}

function kafka(conn: KafkaConnection, retries?: number): Kafka {
  hideKafkajsTimerWarning();
  return new Kafka(libConfig(conn, retries));
}

const NOT_RETRIABLE =
  /authenticat|SASL|authoriz|not authorized|TOPIC_AUTHORIZATION|INVALID_TOPIC|FENCED_INSTANCE/i;

/** Classifies a kafkajs error and wraps it in a `KafkaError`. */
export function kafkaErrorOf(what: string, e: unknown): KafkaError {
  if (e instanceof KafkaError) return e;
  const err = e as { retriable?: boolean; type?: string; name?: string; originalError?: unknown };
  const reason = reasonOf(e);
  const retriable = NOT_RETRIABLE.test(`${err.type ?? ""} ${err.name ?? ""} ${reason}`)
    ? false
    : err.retriable === true ||
      /KafkaJSConnectionError|KafkaJSRequestTimeoutError|KafkaJSNumberOfRetriesExceeded|KafkaJSConnectionClosedError|KafkaJSNonRetriableError/
        .test(err.name ?? "");
  return new KafkaError(`${what}: ${reason}`, { retriable, kafkaCode: err.type, cause: e });
}

function buf(v: Uint8Array | string | null | undefined): Buffer | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "string") return Buffer.from(v);
  // kafkajs treats only Buffers as bytes (a plain Uint8Array would be sent as "1,2,3")
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

class KafkajsProducer implements Producer {
  readonly #kafka: Kafka;
  readonly #lib: LibProducer;
  readonly #partitions = new Map<string, (key: Uint8Array | string | null) => number>();
  #connected?: Promise<void>;
  #closed?: Promise<void>;

  constructor(conn: KafkaConnection) {
    this.#kafka = kafka(conn, 10);
    this.#lib = this.#kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  }

  #connect(): Promise<void> {
    this.#connected ??= this.#lib.connect().catch((e) => {
      this.#connected = undefined;
      throw e;
    });
    return this.#connected;
  }

  async #partitioner(topic: string) {
    let p = this.#partitions.get(topic);
    if (!p) {
      const admin = this.#kafka.admin();
      await admin.connect();
      try {
        const md = await admin.fetchTopicMetadata({ topics: [topic] });
        p = keyPartitioner(md.topics[0]?.partitions.length ?? 0);
      } finally {
        await admin.disconnect().catch(() => {});
      }
      this.#partitions.set(topic, p);
    }
    return p;
  }

  async send(topic: string, records: readonly OutRecord[]): Promise<PartitionAck[]> {
    if (records.length === 0) return [];
    try {
      await this.#connect();
    } catch (e) {
      throw kafkaErrorOf(`Cannot send to topic "${topic}"`, e);
    }
    let partitionOf: ((key: Uint8Array | string | null) => number) | undefined;
    const byPartition = new Map<number, Message[]>();
    for (const r of records) {
      let partition = r.partition;
      if (partition === undefined) {
        partitionOf ??= await this.#partitioner(topic).catch((e) => {
          throw kafkaErrorOf(`Cannot send to topic "${topic}"`, e);
        });
        partition = partitionOf(r.key);
      }
      let list = byPartition.get(partition);
      if (!list) byPartition.set(partition, list = []);
      const m: Message = { key: buf(r.key), value: buf(r.value), partition };
      if (r.headers) {
        const h: Record<string, Buffer> = {};
        for (const [k, v] of Object.entries(r.headers)) h[k] = buf(v)!;
        m.headers = h;
      }
      if (r.timestamp !== undefined) m.timestamp = String(r.timestamp);
      list.push(m);
    }
    return await Promise.all([...byPartition].map(async ([partition, messages]) => {
      try {
        const landed = await this.#lib.send({ topic, messages, acks: -1 });
        const ack = landed.find((l) => l.partition === partition && l.errorCode === 0);
        if (!ack) {
          throw new KafkaError(
            `Cannot confirm the send to topic "${topic}": no acknowledgement for partition ${partition}`,
            { retriable: true },
          );
        }
        return { partition, baseOffset: BigInt(ack.baseOffset ?? "0"), count: messages.length };
      } catch (e) {
        throw kafkaErrorOf(`Cannot send to topic "${topic}" partition ${partition}`, e);
      }
    }));
  }

  close(): Promise<void> {
    this.#closed ??= this.#lib.disconnect().catch(() => {});
    return this.#closed;
  }
}

class KafkajsAdmin implements Admin {
  readonly #lib: LibAdmin;
  #connected?: Promise<void>;

  constructor(conn: KafkaConnection, retries?: number) {
    this.#lib = kafka(conn, retries).admin();
  }

  async #admin(): Promise<LibAdmin> {
    this.#connected ??= this.#lib.connect().catch((e) => {
      this.#connected = undefined;
      throw e;
    });
    await this.#connected;
    return this.#lib;
  }

  async #call<T>(what: string, fn: (a: LibAdmin) => Promise<T>): Promise<T> {
    try {
      return await fn(await this.#admin());
    } catch (e) {
      throw kafkaErrorOf(what, e);
    }
  }

  listTopics(): Promise<string[]> {
    return this.#call(
      "Cannot list topics",
      async (a) => (await a.listTopics()).filter((t) => !t.startsWith("__")),
    );
  }

  brokers(): Promise<BrokerAddress[]> {
    return this.#call("Cannot read the cluster's brokers", async (a) => {
      const c = await a.describeCluster();
      return c.brokers.map((b) => ({ id: b.nodeId, host: b.host, port: b.port }));
    });
  }

  async ensureTopic(
    topic: string,
    partitions: number,
    options: { configs?: Record<string, string>; replicas?: number; waitMs?: number } = {},
  ): Promise<number> {
    const existing = await this.listTopics();
    if (!existing.includes(topic)) {
      try {
        const a = await this.#admin();
        // Not kafkajs's waitForLeaders: it gives up at once when the broker it asks has not
        // heard of the new topic yet (UNKNOWN_TOPIC_OR_PARTITION, common on a multi-broker
        // cluster). The loop below waits for the leaders and tolerates that error.
        await a.createTopics({
          topics: [{
            topic,
            numPartitions: partitions,
            replicationFactor: options.replicas ?? -1,
            configEntries: Object.entries(options.configs ?? {}).map(([name, value]) => ({
              name,
              value,
            })),
          }],
          waitForLeaders: false,
        });
      } catch (e) {
        if (!/already exists/i.test(reasonOf(e))) {
          throw kafkaErrorOf(`Cannot create topic "${topic}"`, e);
        }
      }
    }
    const until = Date.now() + (options.waitMs ?? 10_000);
    let count = 0;
    while (Date.now() < until) {
      const a = await this.#admin().catch(() => undefined);
      const md = await a?.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
      const parts = md?.topics[0]?.partitions ?? [];
      count = parts.length;
      if (count > 0 && parts.every((p) => p.leader >= 0)) return count;
      await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  }

  partitionCount(topic: string): Promise<number> {
    return this.#call(`Cannot read topic "${topic}"`, async (a) => {
      const md = await a.fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]?.partitions.length ?? 0;
    });
  }

  partitionLeaders(topic: string): Promise<Map<number, { leader: number; replicas: number[] }>> {
    return this.#call(`Cannot read the leaders of topic "${topic}"`, async (a) => {
      const md = await a.fetchTopicMetadata({ topics: [topic] });
      return new Map(
        (md.topics[0]?.partitions ?? []).map((
          p,
        ) => [p.partitionId, { leader: p.leader, replicas: [...p.replicas] }]),
      );
    });
  }

  offsets(topic: string): Promise<Map<number, PartitionOffsets>> {
    return this.#call(`Cannot read the offsets of topic "${topic}"`, async (a) => {
      const offs = await a.fetchTopicOffsets(topic);
      return new Map(
        offs.map((o) => [o.partition, { low: BigInt(o.low), high: BigInt(o.high) }]),
      );
    });
  }

  committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    return this.#call(`Cannot read the committed offsets of group "${group}"`, async (a) => {
      const res = await a.fetchOffsets({ groupId: group, topics: [topic] });
      const out = new Map<number, bigint>();
      for (const t of res) {
        if (t.topic !== topic) continue;
        for (const p of t.partitions) {
          if (p.offset !== "" && Number(p.offset) >= 0) out.set(p.partition, BigInt(p.offset));
        }
      }
      return out;
    });
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    await this.#call(
      `Cannot delete topics ${topics.join(", ")}`,
      (a) => a.deleteTopics({ topics }),
    );
  }

  async deleteGroups(groups: string[]): Promise<void> {
    if (groups.length === 0) return;
    await this.#call(`Cannot delete groups ${groups.join(", ")}`, async (a) => {
      await a.deleteGroups(groups);
    });
  }

  async close(): Promise<void> {
    if (this.#connected) await this.#lib.disconnect().catch(() => {});
    this.#connected = undefined;
  }
}

/** Converts one kafkajs batch into the port's shape. */
function toBatch(batch: EachBatchPayload["batch"]): FetchedBatch {
  const records: ConsumedRecord[] = new Array(batch.messages.length);
  for (let i = 0; i < batch.messages.length; i++) {
    const m = batch.messages[i]!;
    const rec: ConsumedRecord = {
      offset: BigInt(m.offset),
      timestamp: Number(m.timestamp),
      key: m.key ?? null,
      value: m.value ?? null,
    };
    if (m.headers) {
      const entries = Object.entries(m.headers);
      if (entries.length > 0) {
        rec.headers = entries.map(([k, v]) => [
          k,
          Buffer.isBuffer(v) ? v : Buffer.from(String(Array.isArray(v) ? v[0] : v ?? "")),
        ]);
      }
    }
    records[i] = rec;
  }
  return { partition: batch.partition, records, highWatermark: BigInt(batch.highWatermark) };
}

class KafkajsGroupConsumer implements GroupConsumer {
  readonly capabilities = { rebalancing: "eager", staticMembership: false } as const;
  readonly #opts: GroupConsumerOptions;
  readonly #lib: LibConsumer;
  readonly #assigned = new Set<number>();
  /** Partitions sought since their assignment (records before that are dropped). */
  readonly #sought = new Set<number>();
  /** Paused by the caller (as opposed to paused until sought). */
  readonly #paused = new Set<number>();
  #running = false;
  #closing = false;
  #closed?: Promise<void>;

  constructor(conn: KafkaConnection, opts: GroupConsumerOptions) {
    this.#opts = opts;
    const session = opts.sessionTimeoutMs;
    if (opts.instanceId) {
      createLogger("kafka").warn(
        "kafkajs has no static membership: NEXUS_INSTANCE_ID is ignored (use NEXUS_KAFKA_CLIENT=platformatic)",
        { instance_id: opts.instanceId },
      );
    }
    this.#lib = kafka(conn, 100).consumer({
      groupId: opts.group,
      allowAutoTopicCreation: false,
      sessionTimeout: session,
      rebalanceTimeout: opts.rebalanceTimeoutMs ?? 2 * session,
      heartbeatInterval: opts.heartbeatIntervalMs ?? Math.min(3000, Math.floor(session / 3)),
      maxBytesPerPartition: opts.maxBytesPerPartition ?? DEFAULT_PARTITION_FETCH_BYTES,
      maxBytes: opts.maxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      // kafkajs sleeps this long when every partition is paused: keep resumes prompt
      maxWaitTimeInMs: opts.maxWaitMs ?? 250,
      retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
  }

  async start(listener: GroupListener): Promise<void> {
    const topic = this.#opts.topic;
    const c = this.#lib;
    c.on(c.events.GROUP_JOIN, (e) => {
      const now = new Set(e.payload.memberAssignment[topic] ?? []);
      const removed = [...this.#assigned].filter((p) => !now.has(p)).sort((a, b) => a - b);
      const added = [...now].filter((p) => !this.#assigned.has(p)).sort((a, b) => a - b);
      for (const p of removed) {
        this.#assigned.delete(p);
        this.#sought.delete(p);
        this.#paused.delete(p);
      }
      if (removed.length > 0) listener.revoked(removed, "revoked");
      for (const p of added) this.#assigned.add(p);
      // nothing of a new partition is fetched before the caller seeks it
      if (added.length > 0) {
        try {
          c.pause([{ topic, partitions: added }]);
        } catch { /* not running yet */ }
        listener.assigned(added);
      }
    });
    c.on(c.events.CRASH, (e) => {
      if (this.#closing) return;
      if (!e.payload.restart) {
        listener.failed(
          kafkaErrorOf(`Consumer group "${this.#opts.group}" crashed`, e.payload.error),
        );
      }
    });
    try {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: 16,
        eachBatch: async ({ batch, resolveOffset, isStale }: EachBatchPayload) => {
          // stale: fetched before a seek of this partition (kafkajs then fetches it again)
          if (batch.topic !== topic || !this.#sought.has(batch.partition) || isStale()) return;
          // handed over at once: the caller queues and processes it while kafkajs fetches on
          if (batch.messages.length > 0) {
            listener.records(toBatch(batch));
            resolveOffset(batch.lastOffset());
          } else {
            listener.records({
              partition: batch.partition,
              records: [],
              highWatermark: BigInt(batch.highWatermark),
            });
          }
          await Promise.resolve();
        },
      });
      this.#running = true;
    } catch (e) {
      throw kafkaErrorOf(`Cannot join consumer group "${this.#opts.group}"`, e);
    }
  }

  seek(partition: number, offset: bigint): void {
    if (!this.#assigned.has(partition) || this.#closing) return;
    const topic = this.#opts.topic;
    this.#lib.seek({ topic, partition, offset: offset.toString() });
    this.#sought.add(partition);
    if (!this.#paused.has(partition)) this.#lib.resume([{ topic, partitions: [partition] }]);
  }

  pause(partition: number): void {
    this.#paused.add(partition);
    try {
      this.#lib.pause([{ topic: this.#opts.topic, partitions: [partition] }]);
    } catch { /* not running */ }
  }

  resume(partition: number): void {
    this.#paused.delete(partition);
    if (!this.#sought.has(partition)) return;
    try {
      this.#lib.resume([{ topic: this.#opts.topic, partitions: [partition] }]);
    } catch { /* not running */ }
  }

  async commit(offsets: Map<number, bigint>): Promise<void> {
    const list = [...offsets].filter(([p]) => this.#assigned.has(p));
    if (list.length === 0 || !this.#running || this.#closing) return;
    await this.#lib.commitOffsets(
      list.map(([partition, offset]) => ({
        topic: this.#opts.topic,
        partition,
        offset: offset.toString(),
      })),
    ).catch(() => {});
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      await this.#lib.disconnect().catch(() => {});
    })();
    return this.#closed;
  }
}

class KafkajsReader implements TopicReader {
  readonly #conn: KafkaConnection;
  readonly #consumers = new Set<LibConsumer>();

  constructor(conn: KafkaConnection) {
    this.#conn = conn;
  }

  async read(
    topic: string,
    ranges: Map<number, { from: bigint; to: bigint }>,
    onBatch: (batch: FetchedBatch) => void | Promise<void>,
    options: { timeoutMs?: number } = {},
  ): Promise<void> {
    const todo = new Map([...ranges].filter(([, r]) => r.to > r.from));
    if (todo.size === 0) return;
    const k = kafka(this.#conn);
    const groupId = `nexus-reader-${crypto.randomUUID()}`;
    const c = k.consumer({ groupId, allowAutoTopicCreation: false });
    this.#consumers.add(c);
    let finish!: () => void;
    let fail!: (e: unknown) => void;
    const finished = new Promise<void>((res, rej) => {
      finish = res;
      fail = rej;
    });
    const sought = new Set<number>();
    c.on(c.events.GROUP_JOIN, (e) => {
      for (const p of e.payload.memberAssignment[topic] ?? []) {
        const r = todo.get(p);
        if (!r) continue;
        c.seek({ topic, partition: p, offset: r.from.toString() });
        sought.add(p);
      }
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const range = todo.get(batch.partition);
          if (!range || !sought.has(batch.partition)) return;
          const b = toBatch(batch);
          const records = b.records.filter((r) => r.offset >= range.from && r.offset < range.to);
          if (records.length > 0) {
            try {
              await onBatch({ ...b, records });
            } catch (e) {
              fail(e);
              return;
            }
          }
          const last = b.records[b.records.length - 1]?.offset;
          if (last !== undefined && last + 1n >= range.to) {
            todo.delete(batch.partition);
            if (todo.size === 0) finish();
          }
        },
      });
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs)),
      ]);
      if (timedOut) {
        throw new KafkaError(
          `Cannot read topic "${topic}": partitions ${
            [...todo.keys()].join(",")
          } not read to their end within ${timeoutMs} ms`,
          { retriable: true },
        );
      }
    } catch (e) {
      throw kafkaErrorOf(`Cannot read topic "${topic}"`, e);
    } finally {
      clearTimeout(timer);
      this.#consumers.delete(c);
      await c.disconnect().catch(() => {});
      const admin = k.admin();
      await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => {});
      await admin.disconnect().catch(() => {});
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.#consumers]) await c.disconnect().catch(() => {});
    this.#consumers.clear();
  }
}

/** The kafkajs client of the port. */
export class KafkajsClient implements KafkaClient {
  readonly name = "kafkajs" as const;
  readonly library = `kafkajs ${KAFKAJS_VERSION}`;
  readonly #conn: KafkaConnection;

  constructor(conn: KafkaConnection) {
    this.#conn = conn;
  }

  producer(): Producer {
    return new KafkajsProducer(this.#conn);
  }

  admin(): Admin {
    return new KafkajsAdmin(this.#conn);
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new KafkajsGroupConsumer(this.#conn, options);
  }

  reader(): TopicReader {
    return new KafkajsReader(this.#conn);
  }
}
