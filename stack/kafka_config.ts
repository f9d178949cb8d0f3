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
   * client can reach: it reproduces the advertised-listener trap, so the start-up check that
   * names it can be seen at work. Default: none.
   */
  misadvertisedPort?: number;
  /** Default partitions of a created topic. Default 6. */
  numPartitions?: number;
  /** KRaft node id. Default 1. */
  nodeId?: number;
  /**
   * Every controller of the quorum (combined broker+controller nodes). Default: this node
   * alone on `controllerPort`.
   */
  voters?: { id: number; port: number }[];
  /**
   * Replication of internal and new topics: sets default.replication.factor, the offsets and
   * transaction topics' RF, and min.insync.replicas to `replicationFactor - 1` (at least 1).
   * Default 1 (single node).
   */
  replicationFactor?: number;
  /** Port of a SASL_PLAINTEXT listener (SCRAM-SHA-512). Default: none. */
  saslPort?: number;
  /** Port of an SSL listener (server certificate only). Requires `keystore`. Default: none. */
  tlsPort?: number;
  /** PKCS12 keystore (broker key + certificate chain) of the SSL listener. */
  keystore?: { location: string; password: string };
}

/** Builds the `server.properties` entries of a single-node KRaft Kafka on 127.0.0.1. */
export function kafkaProperties(opts: KafkaConfigOptions): Record<string, string> {
  const nodeId = opts.nodeId ?? 1;
  const controllerPort = opts.controllerPort ?? opts.port + 1;
  const trap = opts.misadvertisedPort;
  const voters = opts.voters ?? [{ id: nodeId, port: controllerPort }];
  const rf = String(opts.replicationFactor ?? 1);
  const minIsr = String(Math.max(1, (opts.replicationFactor ?? 1) - 1));
  const extra: { name: string; port: number; protocol: string }[] = [];
  if (trap) extra.push({ name: "MISADVERTISED", port: trap, protocol: "PLAINTEXT" });
  if (opts.saslPort) extra.push({ name: "SASL", port: opts.saslPort, protocol: "SASL_PLAINTEXT" });
  if (opts.tlsPort) {
    if (!opts.keystore) throw new Error("kafkaProperties: tlsPort needs a keystore");
    extra.push({ name: "TLS", port: opts.tlsPort, protocol: "SSL" });
  }
  const advertise = (l: { name: string; port: number }) =>
    l.name === "MISADVERTISED" ? "kafka-internal.invalid:9092" : `127.0.0.1:${l.port}`;
  const props: Record<string, string> = {
    "process.roles": "broker,controller",
    "node.id": String(nodeId),
    "controller.quorum.voters": voters.map((v) => `${v.id}@127.0.0.1:${v.port}`).join(","),
    "listeners": [
      `PLAINTEXT://127.0.0.1:${opts.port}`,
      `CONTROLLER://127.0.0.1:${controllerPort}`,
      ...extra.map((l) => `${l.name}://127.0.0.1:${l.port}`),
    ].join(","),
    "advertised.listeners": [
      `PLAINTEXT://127.0.0.1:${opts.port}`,
      ...extra.map((l) => `${l.name}://${advertise(l)}`),
    ].join(","),
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": [
      "PLAINTEXT:PLAINTEXT",
      "CONTROLLER:PLAINTEXT",
      ...extra.map((l) => `${l.name}:${l.protocol}`),
    ].join(","),
    "log.dirs": opts.logDir,
    "num.partitions": String(opts.numPartitions ?? 6),
    // The app creates its topics; a consumer of a missing topic must fail, not create it.
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": rf,
    "transaction.state.log.replication.factor": rf,
    "transaction.state.log.min.isr": minIsr,
    "share.coordinator.state.topic.replication.factor": rf,
    "share.coordinator.state.topic.min.isr": minIsr,
    "group.initial.rebalance.delay.ms": "0",
    // Sized for a 2-core machine shared with the app, Postgres and S3.
    "num.network.threads": "2",
    "num.io.threads": "4",
    "num.recovery.threads.per.data.dir": "1",
    "log.retention.hours": "168",
    "log.segment.bytes": String(256 * 1024 * 1024),
  };
  if (voters.length > 1 || (opts.replicationFactor ?? 1) > 1) {
    props["default.replication.factor"] = rf;
    props["min.insync.replicas"] = minIsr;
    props["unclean.leader.election.enable"] = "false";
    // A killed node is fenced (and its leaderships moved) after 6 s instead of 9 s.
    props["broker.session.timeout.ms"] = "6000";
    props["broker.heartbeat.interval.ms"] = "1000";
  }
  if (opts.saslPort) {
    props["sasl.enabled.mechanisms"] = "SCRAM-SHA-512";
    props["listener.name.sasl.sasl.enabled.mechanisms"] = "SCRAM-SHA-512";
    props["listener.name.sasl.scram-sha-512.sasl.jaas.config"] =
      "org.apache.kafka.common.security.scram.ScramLoginModule required;";
  }
  if (opts.tlsPort && opts.keystore) {
    props["listener.name.tls.ssl.keystore.type"] = "PKCS12";
    props["listener.name.tls.ssl.keystore.location"] = opts.keystore.location;
    props["listener.name.tls.ssl.keystore.password"] = opts.keystore.password;
    props["listener.name.tls.ssl.key.password"] = opts.keystore.password;
    props["listener.name.tls.ssl.client.auth"] = "none";
  }
  return props;
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
