/**
 * Pure rendering of the single-node KRaft broker+controller config and its JVM command line.
 *
 * @module
 */
import { type RandomFill, randomString } from "./credentials.ts";

/** Options for `kafkaProperties`. */
export interface KafkaConfigOptions {
  /** PLAINTEXT client port on 127.0.0.1. */
  port: number;
  /** CONTROLLER port on 127.0.0.1. Default: `port + 1`. */
  controllerPort?: number;
  /** Where the broker keeps its logs (data). */
  logDir: string;
  /**
   * Port of an extra listener that advertises `kafka-internal.invalid:9092`, an address no
   * client can reach: it reproduces the advertised-listener trap for tests. Default: none.
   */
  misadvertisedPort?: number;
  /** Default partitions of a created topic. Default 6. */
  numPartitions?: number;
  /** KRaft node id. Default 1. */
  nodeId?: number;
}

/** Builds the `server.properties` entries of a single-node KRaft Kafka on 127.0.0.1. */
export function kafkaProperties(opts: KafkaConfigOptions): Record<string, string> {
  const nodeId = opts.nodeId ?? 1;
  const controllerPort = opts.controllerPort ?? opts.port + 1;
  const trap = opts.misadvertisedPort;
  return {
    "process.roles": "broker,controller",
    "node.id": String(nodeId),
    "controller.quorum.voters": `${nodeId}@127.0.0.1:${controllerPort}`,
    "listeners": `PLAINTEXT://127.0.0.1:${opts.port},CONTROLLER://127.0.0.1:${controllerPort}` +
      (trap ? `,MISADVERTISED://127.0.0.1:${trap}` : ""),
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${opts.port}` +
      (trap ? ",MISADVERTISED://kafka-internal.invalid:9092" : ""),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" +
      (trap ? ",MISADVERTISED:PLAINTEXT" : ""),
    "log.dirs": opts.logDir,
    "num.partitions": String(opts.numPartitions ?? 6),
    // The app creates its topics; a consumer of a missing topic must fail, not create it.
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": "1",
    "transaction.state.log.replication.factor": "1",
    "transaction.state.log.min.isr": "1",
    "share.coordinator.state.topic.replication.factor": "1",
    "share.coordinator.state.topic.min.isr": "1",
    "group.initial.rebalance.delay.ms": "0",
    // Sized for a 2-core machine shared with the app, Postgres and S3.
    "num.network.threads": "2",
    "num.io.threads": "4",
    "num.recovery.threads.per.data.dir": "1",
    "log.retention.hours": "168",
    "log.segment.bytes": String(256 * 1024 * 1024),
  };
}

/** Escapes a `.properties` value (backslashes; leading spaces would be dropped). */
function escapeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/^ /, "\\ ").replace(/\n/g, "\\n");
}

/** Renders entries as a Java `.properties` file with a header comment. */
export function renderProperties(entries: Record<string, string>, header: string): string {
  const lines = header.split("\n").map((l) => `# ${l}`.trimEnd());
  for (const [key, value] of Object.entries(entries)) lines.push(`${key}=${escapeValue(value)}`);
  return lines.join("\n") + "\n";
}

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Generates a Kafka cluster id: 16 random bytes as 22 base64url characters, like
 * `kafka-storage random-uuid` (the last character carries 2 bits: one of A, Q, g, w).
 */
export function newClusterId(fill?: RandomFill): string {
  const head = randomString(BASE64URL, 21, fill);
  const tail = randomString("AQgw", 1, fill);
  const id = head + tail;
  // Kafka reserves the all-zero id and ids whose text starts with "-".
  return id.startsWith("-") || /^A+$/.test(id) ? newClusterId(fill) : id;
}

/** Options for `kafkaJavaArgs`. */
export interface KafkaJavaOptions {
  /** Folder of jars. */
  libs: string;
  /** log4j2 config file. */
  log4jConfig: string;
  /** Max heap. Default "768m". */
  heap?: string;
}

/** JVM flags shared by the broker and the storage tool (class path, heap, logging). */
export function kafkaJavaArgs(opts: KafkaJavaOptions): string[] {
  const heap = opts.heap ?? "768m";
  return [
    `-Xmx${heap}`,
    "-Xms128m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
    `-Dlog4j2.configurationFile=${opts.log4jConfig}`,
    "-cp",
    `${opts.libs}/*`,
  ];
}
