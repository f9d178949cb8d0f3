/**
 * Choosing the adapter (`NEXUS_KAFKA_CLIENT`) and the start-up checks every module runs
 * against Kafka, written once over the port.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { reasonOf, ServiceError } from "../runtime/errors.ts";
import { type ConnectionOptions, type KafkaConnection, kafkaConnection } from "./connection.ts";
import { KafkajsClient } from "./kafkajs.ts";
import { PlatformaticClient } from "./platformatic.ts";
import type { KafkaClient, KafkaClientName } from "./port.ts";

/** Options of `createKafkaClient`. */
export interface KafkaClientOptions extends ConnectionOptions {
  /** Overrides `NEXUS_KAFKA_CLIENT` (the contract test runs both). */
  client?: KafkaClientName;
}

/** The client of `name` for `conn`. */
export function kafkaClientFor(name: KafkaClientName, conn: KafkaConnection): KafkaClient {
  return name === "kafkajs" ? new KafkajsClient(conn) : new PlatformaticClient(conn);
}

/** The configured Kafka client (`NEXUS_KAFKA_CLIENT`) connected as `config` says. */
export function createKafkaClient(config: Config, options: KafkaClientOptions = {}): KafkaClient {
  return kafkaClientFor(options.client ?? config.kafkaClient, kafkaConnection(config, options));
}

async function canConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname: host, port }),
      new Promise<never>((_, rej) =>
        timer = setTimeout(() => rej(new Error("timeout")), timeoutMs)
      ),
    ]);
    conn.close();
    return true;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
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
  // The bootstrap addresses first, over plain TCP: a clear "connection refused" fast.
  const reachable = await Promise.all(config.kafkaBrokers.map((b) => {
    const i = b.lastIndexOf(":");
    return canConnect(b.slice(0, i).replace(/^\[|\]$/g, ""), Number(b.slice(i + 1)), 3000);
  }));
  if (!reachable.some(Boolean)) {
    throw new ServiceError(
      `Cannot connect to Kafka: KAFKA_BROKERS is "${brokers}": connection refused or timed out. Fix: start the broker (deno task stack up) or point KAFKA_BROKERS at a reachable host:port.`,
      { setting: "KAFKA_BROKERS", retriable: true },
    );
  }
  const admin = createKafkaClient(config, {
    clientSuffix: "preflight",
    connectTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
  }).admin();
  try {
    let advertised;
    try {
      advertised = await admin.brokers();
    } catch (e) {
      const reason = reasonOf(e);
      if (/authenticat|SASL|SSL|TLS|certificate/i.test(reason)) {
        throw new ServiceError(
          `Cannot connect to Kafka: KAFKA_BROKERS is "${brokers}": ${reason}. Fix: check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_TLS and KAFKA_TLS_CA_FILE.`,
          { setting: "KAFKA_SASL_PASSWORD", retriable: false, cause: e },
        );
      }
      // the bootstrap connection works: failing now is dialling what the brokers advertise
      const addr = /(?:ENOTFOUND|ECONNREFUSED|EHOSTUNREACH|ETIMEDOUT) (\S+)/.exec(reason)?.[1];
      throw advertisedError(brokers, addr ?? "an address", reason);
    }
    for (const b of advertised) {
      if (!(await canConnect(b.host, b.port, 3000))) {
        throw advertisedError(brokers, `${b.host}:${b.port}`, "connection failed");
      }
    }
    if (options.requireTopics?.length) {
      const existing = new Set(await admin.listTopics());
      for (const t of options.requireTopics) {
        if (!existing.has(t)) {
          const similar = [...existing].slice(0, 5);
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
    await admin.close();
  }
}
