/**
 * The @platformatic/kafka adapter of the Kafka port (the default client).
 *
 * - Producer: idempotent, acks = all; one request per partition (a retry after a leader move
 *   then always goes to that partition's new leader), the library's retries keep the sequence
 *   numbers so the broker drops a batch it already wrote.
 * - Group consumer: classic consumer-group protocol with the cooperative-sticky assignor
 *   (KIP-429: a rebalance revokes only the partitions that move) and static membership
 *   (KIP-345, `group.instance.id`). The library's `Consumer` keeps the membership (join,
 *   heartbeats, rebalances); records come from Nexus's own fetch loop (`fetch_loop.ts`) on a
 *   second client, so fetches never delay heartbeats.
 * - Reader: the same fetch loop without a group.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  Admin as LibAdmin,
  type BaseOptions,
  Consumer as LibConsumer,
  type ConsumerGroupJoinPayload,
  findErrorBy,
  type MessageToProduce,
  offsetCommitV8,
  offsetCommitV9,
  Producer as LibProducer,
} from "@platformatic/kafka";
import { createLogger, type Logger } from "../log/logger.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { KafkaConnection } from "./connection.ts";
import { FetchLoop } from "./fetch_loop.ts";
import { keyPartitioner } from "./partitioner.ts";
import {
  type Admin,
  type BrokerAddress,
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

/** The pinned library version (import map). */
export const PLATFORMATIC_VERSION = "2.12.1";

const SASL_MECHANISMS = {
  "plain": "PLAIN",
  "scram-sha-256": "SCRAM-SHA-256",
  "scram-sha-512": "SCRAM-SHA-512",
} as const;

/** Exponential retry delay, 250 ms doubling to 5 s. */
function retryDelay(_client: unknown, _op: string, attempt: number): number {
  return Math.min(5000, 250 * 2 ** Math.min(5, attempt - 1));
}

/** The library's connection options for `conn`. */
function baseOptions(conn: KafkaConnection, retries = 6): BaseOptions {
  return {
    clientId: conn.clientId,
    bootstrapBrokers: conn.brokers,
    connectTimeout: conn.connectTimeoutMs,
    requestTimeout: conn.requestTimeoutMs,
    retries,
    retryDelay,
    ...(conn.sasl
      ? {
        sasl: {
          mechanism: SASL_MECHANISMS[conn.sasl.mechanism],
          username: conn.sasl.username,
          password: conn.sasl.password,
        },
      }
      : {}),
    ...(conn.tls ? { tls: conn.tls.ca ? { ca: conn.tls.ca } : {} } : {}),
  };
}

const NOT_RETRIABLE = new Set([
  "TOPIC_AUTHORIZATION_FAILED",
  "GROUP_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "SASL_AUTHENTICATION_FAILED",
  "UNSUPPORTED_SASL_MECHANISM",
  "INVALID_TOPIC_EXCEPTION",
  "FENCED_INSTANCE_ID",
  "INVALID_REPLICATION_FACTOR",
  "POLICY_VIOLATION",
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
]);

interface LibError {
  code?: string;
  apiId?: string;
  canRetry?: boolean;
  message?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** Every error in the tree the library builds (`errors` of aggregates, `cause` chains). */
function errorTree(e: unknown): LibError[] {
  const out: LibError[] = [];
  const walk = (x: unknown, depth: number) => {
    if (!x || typeof x !== "object" || depth > 12) return;
    const err = x as LibError;
    out.push(err);
    for (const inner of err.errors ?? []) walk(inner, depth + 1);
    if (err.cause) walk(err.cause, depth + 1);
  };
  walk(e, 0);
  return out;
}

/** The broker's error name found in a library error, if any (the deepest one). */
function brokerCode(e: unknown): string | undefined {
  return errorTree(e).filter((x) => x.apiId).pop()?.apiId;
}

/**
 * Classifies a library error as retriable or not and wraps it in a `KafkaError`. Not
 * retriable: authentication and authorisation failures, and broker errors that retrying
 * cannot fix (a bad topic, a fenced static member, a record too large); everything else
 * (connections, timeouts, leader moves) is.
 */
export function kafkaErrorOf(what: string, e: unknown): KafkaError {
  if (e instanceof KafkaError) return e;
  const tree = errorTree(e);
  const apiId = brokerCode(e);
  const auth = tree.some((x) => x.code === "PLT_KFK_AUTHENTICATION");
  const retriable = !auth && !(apiId && NOT_RETRIABLE.has(apiId)) &&
    !tree.some((x) => x.code === "PLT_KFK_USER");
  const leaf = tree.filter((x) => x.message).pop();
  const detail = [apiId, leaf?.message ?? reasonOf(e)].filter(Boolean).join(": ");
  return new KafkaError(`${what}: ${reasonOf(detail)}`, { retriable, kafkaCode: apiId, cause: e });
}

function bytes(v: Uint8Array | string | null | undefined): Buffer | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") return Buffer.from(v);
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

class PlatformaticProducer implements Producer {
  readonly #lib: LibProducer;
  readonly #partitions = new Map<string, (key: Uint8Array | string | null) => number>();
  #closed?: Promise<void>;

  constructor(conn: KafkaConnection) {
    this.#lib = new LibProducer({
      ...baseOptions(conn, 40),
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
  }

  async #partitioner(topic: string) {
    let p = this.#partitions.get(topic);
    if (!p) {
      const md = await this.#lib.metadata({ topics: [topic] });
      const count = md.topics.get(topic)?.partitionsCount ?? 0;
      p = keyPartitioner(count);
      this.#partitions.set(topic, p);
    }
    return p;
  }

  async send(topic: string, records: readonly OutRecord[]): Promise<PartitionAck[]> {
    if (records.length === 0) return [];
    let partitionOf: ((key: Uint8Array | string | null) => number) | undefined;
    const byPartition = new Map<number, MessageToProduce[]>();
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
      const m: MessageToProduce = { topic, partition, key: bytes(r.key), value: bytes(r.value) };
      if (r.headers) {
        const h = new Map<Buffer, Buffer>();
        for (const [k, v] of Object.entries(r.headers)) h.set(Buffer.from(k), bytes(v)!);
        m.headers = h;
      }
      if (r.timestamp !== undefined) m.timestamp = BigInt(r.timestamp);
      list.push(m);
    }
    return await Promise.all(
      [...byPartition].map(async ([partition, messages]) => {
        try {
          const res = await this.#lib.send({ messages });
          const ack = res.offsets?.find((o) => o.topic === topic && o.partition === partition);
          if (!ack) {
            throw new KafkaError(
              `Cannot confirm the send to topic "${topic}": no acknowledgement for partition ${partition}`,
              { retriable: true },
            );
          }
          return { partition, baseOffset: ack.offset, count: messages.length };
        } catch (e) {
          throw kafkaErrorOf(`Cannot send to topic "${topic}" partition ${partition}`, e);
        }
      }),
    );
  }

  close(): Promise<void> {
    this.#closed ??= this.#lib.close().catch(() => {});
    return this.#closed;
  }
}

class PlatformaticAdmin implements Admin {
  readonly #lib: LibAdmin;

  constructor(conn: KafkaConnection) {
    this.#lib = new LibAdmin(baseOptions(conn, 3));
  }

  async listTopics(): Promise<string[]> {
    try {
      return (await this.#lib.listTopics()).filter((t) => !t.startsWith("__"));
    } catch (e) {
      throw kafkaErrorOf("Cannot list topics", e);
    }
  }

  async brokers(): Promise<BrokerAddress[]> {
    try {
      const md = await this.#lib.metadata({ topics: [], forceUpdate: true });
      return [...md.brokers].map(([id, b]) => ({ id, host: b.host, port: b.port }));
    } catch (e) {
      throw kafkaErrorOf("Cannot read the cluster's brokers", e);
    }
  }

  async ensureTopic(
    topic: string,
    partitions: number,
    options: { configs?: Record<string, string>; replicas?: number; waitMs?: number } = {},
  ): Promise<number> {
    const existing = await this.listTopics();
    if (!existing.includes(topic)) {
      try {
        await this.#lib.createTopics({
          topics: [topic],
          partitions,
          replicas: options.replicas ?? -1,
          configs: Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value })),
        });
      } catch (e) {
        if (brokerCode(e) !== "TOPIC_ALREADY_EXISTS" && !/already exists/i.test(reasonOf(e))) {
          throw kafkaErrorOf(`Cannot create topic "${topic}"`, e);
        }
      }
    }
    const until = Date.now() + (options.waitMs ?? 10_000);
    let count = 0;
    while (Date.now() < until) {
      const md = await this.#lib.metadata({ topics: [topic], forceUpdate: true }).catch(() => null);
      const t = md?.topics.get(topic);
      count = t?.partitionsCount ?? 0;
      if (count > 0 && t!.partitions.every((p) => p && p.leader >= 0)) return count;
      await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  }

  async partitionCount(topic: string): Promise<number> {
    try {
      const md = await this.#lib.metadata({ topics: [topic], forceUpdate: true });
      const t = md.topics.get(topic);
      if (!t) throw new Error("not in the metadata");
      return t.partitionsCount;
    } catch (e) {
      throw kafkaErrorOf(`Cannot read topic "${topic}"`, e);
    }
  }

  async partitionLeaders(
    topic: string,
  ): Promise<Map<number, { leader: number; replicas: number[] }>> {
    try {
      const md = await this.#lib.metadata({ topics: [topic], forceUpdate: true });
      const t = md.topics.get(topic);
      if (!t) throw new Error("not in the metadata");
      return new Map(
        t.partitions.map((
          p,
          i,
        ) => [i, { leader: p?.leader ?? -1, replicas: [...(p?.replicas ?? [])] }]),
      );
    } catch (e) {
      throw kafkaErrorOf(`Cannot read the leaders of topic "${topic}"`, e);
    }
  }

  async offsets(topic: string): Promise<Map<number, PartitionOffsets>> {
    try {
      const count = await this.partitionCount(topic);
      const ask = (timestamp: bigint) =>
        this.#lib.listOffsets({
          topics: [{
            name: topic,
            partitions: Array.from({ length: count }, (_, i) => ({ partitionIndex: i, timestamp })),
          }],
        });
      const [low, high] = await Promise.all([ask(-2n), ask(-1n)]);
      const out = new Map<number, PartitionOffsets>();
      for (const p of low[0]?.partitions ?? []) {
        out.set(p.partitionIndex, { low: p.offset, high: p.offset });
      }
      for (const p of high[0]?.partitions ?? []) {
        const o = out.get(p.partitionIndex);
        if (o) o.high = p.offset;
        else out.set(p.partitionIndex, { low: 0n, high: p.offset });
      }
      return out;
    } catch (e) {
      throw kafkaErrorOf(`Cannot read the offsets of topic "${topic}"`, e);
    }
  }

  async committedOffsets(group: string, topic: string): Promise<Map<number, bigint>> {
    try {
      const count = await this.partitionCount(topic);
      const res = await this.#lib.listConsumerGroupOffsets({
        groups: [{
          groupId: group,
          topics: [{ name: topic, partitionIndexes: Array.from({ length: count }, (_, i) => i) }],
        }],
      });
      const out = new Map<number, bigint>();
      for (const g of res) {
        for (const t of g.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) {
            if (p.committedOffset >= 0n) out.set(p.partitionIndex, p.committedOffset);
          }
        }
      }
      return out;
    } catch (e) {
      throw kafkaErrorOf(`Cannot read the committed offsets of group "${group}"`, e);
    }
  }

  async deleteTopics(topics: string[]): Promise<void> {
    if (topics.length === 0) return;
    try {
      await this.#lib.deleteTopics({ topics });
    } catch (e) {
      throw kafkaErrorOf(`Cannot delete topics ${topics.join(", ")}`, e);
    }
  }

  async deleteGroups(groups: string[]): Promise<void> {
    if (groups.length === 0) return;
    try {
      await this.#lib.deleteGroups({ groups });
    } catch (e) {
      throw kafkaErrorOf(`Cannot delete groups ${groups.join(", ")}`, e);
    }
  }

  async close(): Promise<void> {
    await this.#lib.close().catch(() => {});
  }
}

type CommitApi = typeof offsetCommitV9.api;

/** The highest OffsetCommit version both the broker and the library speak (v8 or v9). */
async function commitApi(m: LibConsumer): Promise<CommitApi> {
  const apis = await m.listApis();
  const v = apis.find((a) => a.name === "OffsetCommit");
  if (v && v.maxVersion >= 9 && v.minVersion <= 9) return offsetCommitV9.api;
  return offsetCommitV8.api as unknown as CommitApi;
}

/** A library consumer used only to fetch: no group, its own connections. */
function fetchClient(conn: KafkaConnection, group: string): LibConsumer {
  return new LibConsumer({
    ...baseOptions({ ...conn, clientId: `${conn.clientId}-fetch` }, 3),
    groupId: `${group}-fetch-only`,
    autocommit: false,
  });
}

class PlatformaticGroupConsumer implements GroupConsumer {
  readonly capabilities = { rebalancing: "cooperative", staticMembership: true } as const;
  readonly #opts: GroupConsumerOptions;
  readonly #conn: KafkaConnection;
  readonly #log: Logger;
  readonly #member: LibConsumer;
  readonly #fetcher: LibConsumer;
  #loop?: FetchLoop;
  #listener?: GroupListener;
  readonly #assigned = new Set<number>();
  readonly #paused = new Set<number>();
  #memberId: string | null = null;
  #closing = false;
  #closed?: Promise<void>;
  #rejoinTimer?: ReturnType<typeof setTimeout>;
  #commitApi?: CommitApi;

  constructor(conn: KafkaConnection, opts: GroupConsumerOptions) {
    this.#opts = opts;
    this.#conn = conn;
    this.#log = createLogger("kafka");
    const session = opts.sessionTimeoutMs;
    this.#member = new LibConsumer({
      ...baseOptions(conn, 6),
      groupId: opts.group,
      ...(opts.instanceId ? { groupInstanceId: opts.instanceId } : {}),
      autocommit: false,
      sessionTimeout: session,
      rebalanceTimeout: opts.rebalanceTimeoutMs ?? 2 * session,
      heartbeatInterval: opts.heartbeatIntervalMs ?? Math.min(3000, Math.floor(session / 3)),
      protocols: [{ name: "cooperative-sticky", version: 3 }],
    });
    this.#fetcher = fetchClient(conn, opts.group);
  }

  async start(listener: GroupListener): Promise<void> {
    this.#listener = listener;
    const opts = this.#opts;
    this.#loop = new FetchLoop(this.#fetcher, {
      topic: opts.topic,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? DEFAULT_PARTITION_FETCH_BYTES,
      maxBytes: opts.maxBytes ?? DEFAULT_FETCH_MAX_BYTES,
      maxWaitMs: opts.maxWaitMs ?? 500,
      log: this.#log,
    }, {
      records: (b: FetchedBatch) => {
        if (this.#assigned.has(b.partition)) listener.records(b);
      },
      outOfRange: (partition, low, high) => {
        this.#log.warn("offset out of range; continuing from the log start", {
          partition,
          low: String(low),
          high: String(high),
        });
        listener.records({ partition, records: [], highWatermark: high });
        this.#loop?.seek(partition, low);
      },
      trouble: (e) => this.#log.warn("fetch failed; retrying", { error: reasonOf(e) }),
    });
    const m = this.#member;
    m.on("consumer:group:join", (p: ConsumerGroupJoinPayload) => {
      const lost = this.#memberId !== null && p.memberId !== this.#memberId;
      this.#memberId = p.memberId;
      this.#sync(lost ? "lost" : "revoked");
    });
    m.on("consumer:group:rebalance", () => this.#sync("revoked"));
    m.on("consumer:group:leave", () => this.#sync("revoked"));
    m.on("error", (e: Error) => this.#onGroupError(e));
    m.on("consumer:heartbeat:error", (p: { error?: Error }) => {
      if (p.error && findErrorBy(p.error, "fencedInstanceId", true)) this.#fenced(p.error);
    });
    m.topics.track(opts.topic);
    try {
      await m.joinGroup({});
    } catch (e) {
      throw kafkaErrorOf(`Cannot join consumer group "${opts.group}"`, e);
    }
    this.#sync("revoked");
  }

  /** Reconciles the library's current assignment with what the listener was told. */
  #sync(reason: "revoked" | "lost"): void {
    if (this.#closing || !this.#listener) return;
    const now = new Set(
      this.#member.assignments?.find((a) => a.topic === this.#opts.topic)?.partitions ?? [],
    );
    const removed = [...this.#assigned].filter((p) => !now.has(p));
    const added = [...now].filter((p) => !this.#assigned.has(p)).sort((a, b) => a - b);
    if (reason === "lost") {
      // a new member id: whatever we kept may have been someone else's meanwhile
      const kept = [...this.#assigned].filter((p) => now.has(p));
      removed.push(...kept);
      added.push(...kept);
    }
    for (const p of removed) {
      this.#assigned.delete(p);
      this.#paused.delete(p);
      this.#loop?.remove(p);
    }
    if (removed.length > 0) this.#listener.revoked(removed.sort((a, b) => a - b), reason);
    for (const p of added) this.#assigned.add(p);
    if (added.length > 0) this.#listener.assigned(added);
  }

  #fenced(e: Error): void {
    if (this.#closing) return;
    this.#listener?.failed(
      new KafkaError(
        `Cannot stay in consumer group "${this.#opts.group}": another live process uses the same NEXUS_INSTANCE_ID="${this.#opts.instanceId}" (FENCED_INSTANCE_ID). Fix: give every process its own NEXUS_INSTANCE_ID.`,
        { retriable: false, kafkaCode: "FENCED_INSTANCE_ID", cause: e },
      ),
    );
  }

  /** A rejoin failed (the library then stops heartbeating): drop everything, join again. */
  #onGroupError(e: Error): void {
    if (this.#closing) return;
    if (findErrorBy(e, "fencedInstanceId", true)) return this.#fenced(e);
    const err = kafkaErrorOf(`consumer group "${this.#opts.group}"`, e);
    if (!err.retriable) {
      this.#listener?.failed(err);
      return;
    }
    this.#log.warn("lost the consumer group; joining again", { error: err.message });
    const lost = [...this.#assigned].sort((a, b) => a - b);
    for (const p of lost) this.#loop?.remove(p);
    this.#assigned.clear();
    this.#paused.clear();
    if (lost.length > 0) this.#listener?.revoked(lost, "lost");
    clearTimeout(this.#rejoinTimer);
    this.#rejoinTimer = setTimeout(() => {
      if (this.#closing) return;
      this.#member.joinGroup({}).then(
        () => this.#sync("revoked"),
        (e2: Error) => this.#onGroupError(e2),
      );
    }, 1000);
  }

  seek(partition: number, offset: bigint): void {
    if (!this.#assigned.has(partition)) return;
    this.#loop?.seek(partition, offset);
    if (this.#paused.has(partition)) this.#loop?.pause(partition);
  }

  pause(partition: number): void {
    this.#paused.add(partition);
    this.#loop?.pause(partition);
  }

  resume(partition: number): void {
    this.#paused.delete(partition);
    this.#loop?.resume(partition);
  }

  /**
   * Commits through the group coordinator with the member's current generation, but not with
   * the library's `commit`: that one answers a commit refused during a rebalance
   * (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION) by joining the group again — and, with the
   * cooperative protocol, forgetting the partitions it owns — which turned every rebalance
   * into a storm of further rebalances. A refused monitoring commit is simply dropped.
   */
  async commit(offsets: Map<number, bigint>): Promise<void> {
    const list = [...offsets].filter(([p]) => this.#assigned.has(p));
    const m = this.#member;
    if (list.length === 0 || this.#closing || !m.isActive() || !m.memberId) return;
    try {
      const coordinator = await m.findGroupCoordinator();
      const connection = (await m.connectToBrokers([coordinator])).get(coordinator);
      if (!connection) return;
      this.#commitApi ??= await commitApi(m);
      await this.#commitApi.async(
        connection,
        this.#opts.group,
        m.generationId,
        m.memberId,
        m.groupInstanceId,
        [{
          name: this.#opts.topic,
          partitions: list.map(([partitionIndex, committedOffset]) => ({
            partitionIndex,
            committedOffset,
            committedLeaderEpoch: -1,
            committedMetadata: null,
          })),
        }],
      );
    } catch (e) {
      this.#log.debug("commit refused (monitoring only)", { error: reasonOf(e) });
    }
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing = true;
      clearTimeout(this.#rejoinTimer);
      this.#loop?.stop();
      await this.#fetcher.close(true).catch(() => {});
      await this.#member.close(true).catch((e: unknown) =>
        this.#log.debug("leaving the group failed", {
          error: reasonOf(e),
          conn: this.#conn.clientId,
        })
      );
    })();
    return this.#closed;
  }
}

class PlatformaticReader implements TopicReader {
  readonly #conn: KafkaConnection;
  readonly #clients = new Set<LibConsumer>();

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
    const client = fetchClient(this.#conn, `reader-${crypto.randomUUID()}`);
    this.#clients.add(client);
    let chain: Promise<void> = Promise.resolve();
    let failure: unknown;
    let lastTrouble: unknown;
    let finish!: () => void;
    const finished = new Promise<void>((r) => finish = r);
    const loop = new FetchLoop(client, {
      topic,
      maxBytesPerPartition: 1024 * 1024,
      maxBytes: 16 * 1024 * 1024,
      maxWaitMs: 200,
      log: createLogger("kafka"),
    }, {
      records: (b) => {
        const range = todo.get(b.partition);
        if (!range) return;
        const records = b.records.filter((r) => r.offset >= range.from && r.offset < range.to);
        const last = b.records[b.records.length - 1]?.offset;
        const reached = (last !== undefined && last + 1n >= range.to) ||
          (b.fetchOffset !== undefined && b.fetchOffset >= range.to);
        if (reached) {
          todo.delete(b.partition);
          loop.remove(b.partition);
        }
        if (records.length > 0) {
          chain = chain.then(() => onBatch({ ...b, records })).catch((e) => {
            failure ??= e;
          });
        }
        if (todo.size === 0) chain.then(finish);
      },
      outOfRange: (partition, low) => loop.seek(partition, low),
      trouble: (e) => lastTrouble = e,
    });
    const timeoutMs = options.timeoutMs ?? 120_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      for (const [p, r] of todo) loop.seek(p, r.from);
      const timedOut = await Promise.race([
        finished.then(() => false),
        new Promise<boolean>((r) => timer = setTimeout(() => r(true), timeoutMs)),
      ]);
      if (timedOut) {
        throw new KafkaError(
          `Cannot read topic "${topic}": partitions ${
            [...todo.keys()].join(",")
          } not read to their end within ${timeoutMs} ms${
            lastTrouble ? ` (${reasonOf(lastTrouble)})` : ""
          }`,
          { retriable: true, cause: lastTrouble },
        );
      }
      await chain;
      if (failure) throw failure;
    } finally {
      clearTimeout(timer);
      loop.stop();
      this.#clients.delete(client);
      await client.close(true).catch(() => {});
    }
  }

  async close(): Promise<void> {
    for (const c of [...this.#clients]) await c.close(true).catch(() => {});
    this.#clients.clear();
  }
}

/** The @platformatic/kafka client of the port. */
export class PlatformaticClient implements KafkaClient {
  readonly name = "platformatic" as const;
  readonly library = `@platformatic/kafka ${PLATFORMATIC_VERSION}`;
  readonly #conn: KafkaConnection;

  constructor(conn: KafkaConnection) {
    this.#conn = conn;
  }

  producer(): Producer {
    return new PlatformaticProducer(this.#conn);
  }

  admin(): Admin {
    return new PlatformaticAdmin(this.#conn);
  }

  groupConsumer(options: GroupConsumerOptions): GroupConsumer {
    return new PlatformaticGroupConsumer(this.#conn, options);
  }

  reader(): TopicReader {
    return new PlatformaticReader(this.#conn);
  }
}
