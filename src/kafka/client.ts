/**
 * The Kafka client factory and start-up checks. All kafkajs settings (SASL, TLS, timeouts,
 * logging) live here so every module connects the same way.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { type Admin, Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import type { Config } from "../config/mod.ts";
import { createLogger } from "../log/logger.ts";
import { reasonOf, ServiceError } from "../runtime/errors.ts";
import { hideKafkajsTimerWarning } from "./warnings.ts";

/** Options for `createKafka`. */
export interface KafkaOptions {
  /** Appended to the configured client id, e.g. `aggregator`. */
  clientSuffix?: string;
  /** kafkajs connection timeout in ms. Default 5000. */
  connectionTimeout?: number;
  /** kafkajs retry policy. Default: 8 retries, 300 ms initial, 10 s max. */
  retry?: KafkaConfig["retry"];
}

/** Builds the kafkajs client config (brokers, SASL, TLS, log routing) from `Config`. */
export function kafkaClientConfig(config: Config, options: KafkaOptions = {}): KafkaConfig {
  const log = createLogger("kafkajs");
  let sasl: SASLOptions | undefined;
  if (config.kafkaSaslMechanism !== "none") {
    sasl = {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername ?? "",
      password: config.kafkaSaslPassword ?? "",
    } as SASLOptions;
  }
  const ssl = config.kafkaTls
    ? (config.kafkaTlsCaFile ? { ca: [readFileSync(config.kafkaTlsCaFile, "utf8")] } : true)
    : undefined;
  return {
    clientId: options.clientSuffix
      ? `${config.kafkaClientId}-${options.clientSuffix}`
      : config.kafkaClientId,
    brokers: config.kafkaBrokers,
    sasl,
    ssl,
    connectionTimeout: options.connectionTimeout ?? 5000,
    requestTimeout: 30000,
    retry: options.retry ?? { retries: 8, initialRetryTime: 300, maxRetryTime: 10000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, label: _label, log: entry }) => {
      const { message, ...rest } = entry;
      // kafkajs logs transient protocol errors at ERROR while it retries them itself.
      const fields = { ns: namespace, broker: rest.broker, error: rest.error };
      if (level <= logLevel.ERROR) log.warn(message, fields);
      else log.debug(message, fields);
    },
  };
}

/** Creates a kafkajs client configured from `Config`. */
export function createKafka(config: Config, options: KafkaOptions = {}): Kafka {
  hideKafkajsTimerWarning();
  return new Kafka(kafkaClientConfig(config, options));
}

async function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  const timer = AbortSignal.timeout(timeoutMs);
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname: host, port }),
      new Promise<never>((_, rej) =>
        timer.addEventListener("abort", () => rej(new Error("timeout")))
      ),
    ]);
    conn.close();
    return true;
  } catch {
    return false;
  }
}

function advertisedError(brokers: string, address: string, reason: string): ServiceError {
  return new ServiceError(
    `Cannot use Kafka: the broker reached at KAFKA_BROKERS="${brokers}" advertises ${address}, which this process cannot reach (${reason}). Fix: set the broker's advertised listener to an address clients can reach (from the host use the external listener, e.g. localhost:19092; inside Docker use the internal one, e.g. redpanda:9092).`,
    { setting: "KAFKA_BROKERS", retriable: false },
  );
}

/** Options for `checkKafka`. */
export interface KafkaCheckOptions {
  /** Topics that must already exist (consumers). Default none. */
  requireTopics?: string[];
}

/**
 * Checks within about 20 s that the brokers are reachable, that every broker they advertise
 * is reachable from this process (the `localhost`-inside-a-container trap), and that the
 * required topics exist.
 *
 * @throws {ServiceError} with one line naming the setting and the fix.
 */
export async function checkKafka(config: Config, options: KafkaCheckOptions = {}): Promise<void> {
  const brokers = config.kafkaBrokers.join(",");
  const kafka = createKafka(config, {
    clientSuffix: "preflight",
    connectionTimeout: 3000,
    retry: { retries: 2, initialRetryTime: 300, maxRetryTime: 1000 },
  });
  const admin: Admin = kafka.admin();
  try {
    try {
      await admin.connect();
    } catch (e) {
      throw new ServiceError(
        `Cannot connect to Kafka: KAFKA_BROKERS is "${brokers}": ${
          reasonOf(e)
        }. Fix: start the broker (deno task stack up) or point KAFKA_BROKERS at a reachable host:port.`,
        { setting: "KAFKA_BROKERS", retriable: true, cause: e },
      );
    }
    // The bootstrap connection worked; from here kafkajs dials the addresses the brokers
    // advertise, so a connection failure now is the advertised-listener trap.
    let cluster;
    try {
      cluster = await admin.describeCluster();
    } catch (e) {
      const reason = reasonOf(e);
      const addr = /(?:ENOTFOUND|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT) (\S+)/.exec(reason)?.[1];
      throw advertisedError(brokers, addr ?? "an address", reason);
    }
    for (const b of cluster.brokers) {
      if (!(await canConnect(b.host, b.port, 3000))) {
        throw advertisedError(brokers, `${b.host}:${b.port}`, "connection failed");
      }
    }
    if (options.requireTopics?.length) {
      const existing = new Set(await admin.listTopics());
      for (const t of options.requireTopics) {
        if (!existing.has(t)) {
          const similar = [...existing].filter((x) => !x.startsWith("__")).slice(0, 5);
          throw new ServiceError(
            `Cannot consume: topic "${t}" does not exist on ${brokers} (existing: ${
              similar.join(", ") || "none"
            }). Fix: set NEXUS_CLICK_TOPIC to the producer's topic, or create it (nexus generate creates it).`,
            { setting: "NEXUS_CLICK_TOPIC", retriable: false },
          );
        }
      }
    }
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Creates `topic` with `partitions` partitions if it does not exist; resolves to the number of
 * partitions the brokers report for it (an existing topic keeps its own count; 0 when no
 * metadata could be read within the wait). Either way waits (up to
 * ~10 s) until every partition has a leader: a new topic's
 * metadata lags its creation (Redpanda), and right after a broker restart an existing topic's
 * partitions are briefly offline ("This server does not host this topic-partition").
 */
export async function ensureTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  configEntries: { name: string; value: string }[] = [],
): Promise<number> {
  const existing = await admin.listTopics();
  if (!existing.includes(topic)) {
    try {
      // Not kafkajs's waitForLeaders: it gives up at once when the broker it asks has not
      // heard of the new topic yet (UNKNOWN_TOPIC_OR_PARTITION, common on a multi-broker
      // cluster). The loop below waits for the leaders and tolerates that error.
      await admin.createTopics({
        topics: [{ topic, numPartitions: partitions, configEntries }],
        waitForLeaders: false,
      });
    } catch (e) {
      if (!/already exists/i.test(reasonOf(e))) throw e;
    }
  }
  let count = 0;
  for (let i = 0; i < 100; i++) {
    const md = await admin.fetchTopicMetadata({ topics: [topic] }).catch(() => undefined);
    const parts = md?.topics[0]?.partitions ?? [];
    count = parts.length;
    if (count > 0 && parts.every((p) => p.leader >= 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return count;
}

/** Sum of a topic's end offsets per partition: `{ partition: high watermark }`. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, bigint>> {
  const offs = await admin.fetchTopicOffsets(topic);
  return new Map(offs.map((o) => [o.partition, BigInt(o.high)]));
}
