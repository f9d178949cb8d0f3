/**
 * The table of every setting Nexus reads. One row per setting: its environment variable,
 * its command-line flag, its default, how it is parsed and whether it is a secret.
 * `--help` and the start-up banner are rendered from this table, so it is the single
 * source of truth for configuration names.
 *
 * @module
 */

/**
 * Default largest fetch per partition, bytes (96 KiB, about 400 click events). What a fetch
 * brings in stays alive until its records are handled, so this bounds memory: on the
 * 1M-event bench (record batches of ~37 KB), 256 KiB fetches peaked the aggregator at
 * 289–342 MB RSS, 96 KiB at 235–256 MB. 64 KiB (one batch plus a cut-off one per partition)
 * was slower and, in most runs at one time of the day, left V8 promoting fetched records
 * (276–294 MB).
 */
export const DEFAULT_PARTITION_FETCH_BYTES = 96 * 1024;

/** Default largest fetch response, bytes: six partitions' worth (576 KiB). */
export const DEFAULT_FETCH_MAX_BYTES = 6 * DEFAULT_PARTITION_FETCH_BYTES;

/** A parser turns a raw string into a value or throws a `SettingError`-style message. */
export type Parse<T> = (raw: string) => T;

/** One configurable setting. */
export interface Setting<T = unknown> {
  /** Environment variable name (conventional where one exists, `NEXUS_*` otherwise). */
  env: string;
  /** Long command-line flag without the leading dashes. */
  flag: string;
  /** Default as a raw string, or `undefined` when the setting is optional. */
  default?: string;
  /** What the setting does, one line, for `--help`. */
  doc: string;
  /** Human description of what a valid value looks like (used in error lines). */
  expect: string;
  /** Turns the raw string into the typed value; throws `Error` with a reason when invalid. */
  parse: Parse<T>;
  /** When true the value is masked in the banner and never logged. */
  secret?: boolean;
  /** Group for `--help`. */
  group: "general" | "kafka" | "postgres" | "s3" | "aggregator" | "archiver" | "http";
}

/** Every module name `run --modules` accepts, in start order. */
export const MODULE_NAMES = ["generator", "loader", "archiver", "aggregator"] as const;
/** The modules `run --modules` accepts. */
export type ModuleName = typeof MODULE_NAMES[number];

function int(min: number, max = Number.MAX_SAFE_INTEGER): Parse<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new Error("not an integer");
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`outside ${min}..${max}`);
    return n;
  };
}

function positive(raw: string): number {
  const n = Number(raw.trim());
  if (raw.trim() === "" || !Number.isFinite(n) || n <= 0) throw new Error("not a number > 0");
  return n;
}

function bool(raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new Error("not a boolean");
}

function text(raw: string): string {
  if (raw.trim() === "") throw new Error("empty");
  return raw.trim();
}

function oneOf<T extends string>(values: readonly T[]): Parse<T> {
  return (raw) => {
    const v = raw.trim() as T;
    if (!values.includes(v)) throw new Error(`not one of ${values.join(", ")}`);
    return v;
  };
}

/** Parses `host:port[,host:port...]`; rejects URLs and missing ports. */
export function parseBrokers(raw: string): string[] {
  const list = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new Error("empty");
  for (const b of list) {
    if (b.includes("://")) throw new Error(`"${b}" has a scheme; give host:port`);
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(b);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new Error(`"${b}" is not host:port`);
    }
  }
  return list;
}

/** Parses the comma-separated module list, rejecting unknown and duplicate names. */
export function parseModules(raw: string): ModuleName[] {
  const list = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (list.length === 0) throw new Error("no module named");
  const out: ModuleName[] = [];
  for (const name of list) {
    if (!(MODULE_NAMES as readonly string[]).includes(name)) {
      throw new Error(`unknown module "${name}"`);
    }
    if (!out.includes(name as ModuleName)) out.push(name as ModuleName);
  }
  return out;
}

function url(protocols: string[]): Parse<string> {
  return (raw) => {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw new Error("not a URL");
    }
    if (!protocols.includes(u.protocol)) {
      throw new Error(`scheme ${u.protocol} is not one of ${protocols.join(", ")}`);
    }
    return raw.trim();
  };
}

function topicName(raw: string): string {
  const v = raw.trim();
  if (!/^[A-Za-z0-9._-]{1,249}$/.test(v) || v === "." || v === "..") {
    throw new Error("not a legal Kafka topic name (letters, digits, '.', '_', '-')");
  }
  return v;
}

function instanceId(raw: string): string {
  const v = raw.trim();
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(v)) {
    throw new Error("not 1..200 letters, digits, '.', '_', '-'");
  }
  return v;
}

function bucketName(raw: string): string {
  const v = raw.trim();
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(v)) {
    throw new Error("not a legal S3 bucket name (3-63 lower-case letters, digits, '.', '-')");
  }
  return v;
}

/** Every setting, keyed by the property name used in `Config`. */
export const settings = {
  modules: {
    env: "NEXUS_MODULES",
    flag: "modules",
    default: "generator,aggregator,archiver",
    doc: "Modules `run` starts (any of generator, loader, archiver, aggregator)",
    expect: "a comma-separated list of generator, loader, archiver, aggregator",
    parse: parseModules,
    group: "general",
  },
  logLevel: {
    env: "NEXUS_LOG_LEVEL",
    flag: "log-level",
    default: "info",
    doc: "Least severe log level printed",
    expect: "debug, info, warn or error",
    parse: oneOf(["debug", "info", "warn", "error"] as const),
    group: "general",
  },
  logFormat: {
    env: "NEXUS_LOG_FORMAT",
    flag: "log-format",
    default: "text",
    doc: "Log line format",
    expect: "text or json",
    parse: oneOf(["text", "json"] as const),
    group: "general",
  },
  shutdownTimeoutMs: {
    env: "NEXUS_SHUTDOWN_TIMEOUT_MS",
    flag: "shutdown-timeout-ms",
    default: "15000",
    doc: "Longest graceful stop (flush, commit, disconnect) before exiting anyway",
    expect: "an integer 100..600000",
    parse: int(100, 600_000),
    group: "general",
  },
  generatorRate: {
    env: "NEXUS_GENERATOR_RATE",
    flag: "rate",
    doc: "Records/s the generator sends (live stream default 100; `generate` unthrottled)",
    expect: "a number > 0",
    parse: positive,
    group: "general",
  },
  kafkaBrokers: {
    env: "KAFKA_BROKERS",
    flag: "kafka-brokers",
    default: "127.0.0.1:19092",
    doc: "Bootstrap brokers (host:port, comma-separated)",
    expect: "host:port[,host:port...] without a scheme",
    parse: parseBrokers,
    group: "kafka",
  },
  kafkaClient: {
    env: "NEXUS_KAFKA_CLIENT",
    flag: "kafka-client",
    default: "platformatic",
    doc:
      "Kafka client library: platformatic (@platformatic/kafka: cooperative rebalancing, static membership) or kafkajs (eager rebalancing, no static membership)",
    expect: "platformatic or kafkajs",
    parse: oneOf(["platformatic", "kafkajs"] as const),
    group: "kafka",
  },
  kafkaClientId: {
    env: "KAFKA_CLIENT_ID",
    flag: "kafka-client-id",
    default: "nexus",
    doc: "Client id sent to the brokers",
    expect: "a non-empty string",
    parse: text,
    group: "kafka",
  },
  kafkaSaslMechanism: {
    env: "KAFKA_SASL_MECHANISM",
    flag: "kafka-sasl-mechanism",
    default: "none",
    doc: "SASL mechanism",
    expect: "none, plain, scram-sha-256 or scram-sha-512",
    parse: oneOf(["none", "plain", "scram-sha-256", "scram-sha-512"] as const),
    group: "kafka",
  },
  kafkaSaslUsername: {
    env: "KAFKA_SASL_USERNAME",
    flag: "kafka-sasl-username",
    doc: "SASL user name",
    expect: "a non-empty string",
    parse: text,
    group: "kafka",
  },
  kafkaSaslPassword: {
    env: "KAFKA_SASL_PASSWORD",
    flag: "kafka-sasl-password",
    doc: "SASL password (prefer the environment or a file: KAFKA_SASL_PASSWORD_FILE)",
    expect: "a non-empty string",
    parse: text,
    secret: true,
    group: "kafka",
  },
  kafkaTls: {
    env: "KAFKA_TLS",
    flag: "kafka-tls",
    default: "false",
    doc: "Connect to the brokers over TLS",
    expect: "true or false",
    parse: bool,
    group: "kafka",
  },
  kafkaTlsCaFile: {
    env: "KAFKA_TLS_CA_FILE",
    flag: "kafka-tls-ca-file",
    doc: "PEM file of the CA that signed the brokers' certificates",
    expect: "a readable file path",
    parse: text,
    group: "kafka",
  },
  clickTopic: {
    env: "NEXUS_CLICK_TOPIC",
    flag: "click-topic",
    default: "clicks_topic",
    doc: "Topic of click events (produced by the generator, consumed by the rest)",
    expect: "a legal Kafka topic name",
    parse: topicName,
    group: "kafka",
  },
  dlqTopic: {
    env: "NEXUS_DLQ_TOPIC",
    flag: "dlq-topic",
    doc: "Dead-letter topic for malformed events (default: <click topic>.dlq)",
    expect: "a legal Kafka topic name",
    parse: topicName,
    group: "kafka",
  },
  partitions: {
    env: "NEXUS_PARTITIONS",
    flag: "partitions",
    default: "6",
    doc: "Partitions when Nexus creates the click topic",
    expect: "an integer 1..1000",
    parse: int(1, 1000),
    group: "kafka",
  },
  kafkaSessionTimeoutMs: {
    env: "NEXUS_KAFKA_SESSION_TIMEOUT_MS",
    flag: "kafka-session-timeout-ms",
    default: "30000",
    doc:
      "Consumer-group session timeout of the aggregator and the archiver: how long a crashed or frozen process keeps its partitions before the group moves them (heartbeat = min(3 s, timeout/3), rebalance timeout = 2 x timeout); the broker must allow it (group.min/max.session.timeout.ms)",
    expect: "an integer 6000..1800000",
    parse: int(6000, 1_800_000),
    group: "kafka",
  },
  kafkaFetchPartitionBytes: {
    env: "NEXUS_KAFKA_FETCH_PARTITION_BYTES",
    flag: "kafka-fetch-partition-bytes",
    default: String(DEFAULT_PARTITION_FETCH_BYTES),
    doc:
      "Largest fetch per partition of the aggregator and the archiver, bytes (max.partition.fetch.bytes): fetched records stay in memory until handled, so this bounds memory; larger values buy little throughput",
    expect: "an integer 1024..67108864",
    parse: int(1024, 64 * 1024 * 1024),
    group: "kafka",
  },
  kafkaFetchMaxBytes: {
    env: "NEXUS_KAFKA_FETCH_MAX_BYTES",
    flag: "kafka-fetch-max-bytes",
    default: String(DEFAULT_FETCH_MAX_BYTES),
    doc:
      "Largest fetch response of the aggregator and the archiver, bytes (fetch.max.bytes); the broker still sends at least one record batch, so an oversized batch never stalls",
    expect: "an integer 1024..268435456",
    parse: int(1024, 256 * 1024 * 1024),
    group: "kafka",
  },
  instanceId: {
    env: "NEXUS_INSTANCE_ID",
    flag: "instance-id",
    doc:
      "Static consumer-group membership (group.instance.id, platformatic client): a process restarted within the session timeout takes its partitions back without a rebalance; unique per process (a second live process with the same id is fenced)",
    expect: "1..200 letters, digits, '.', '_', '-'",
    parse: instanceId,
    group: "kafka",
  },
  aggregatorGroup: {
    env: "NEXUS_AGGREGATOR_GROUP",
    flag: "aggregator-group",
    default: "nexus-aggregator",
    doc: "Consumer group of the aggregator",
    expect: "a non-empty string",
    parse: text,
    group: "aggregator",
  },
  archiverGroup: {
    env: "NEXUS_ARCHIVER_GROUP",
    flag: "archiver-group",
    default: "nexus-archiver",
    doc: "Consumer group of the archiver",
    expect: "a non-empty string",
    parse: text,
    group: "archiver",
  },
  databaseUrl: {
    env: "DATABASE_URL",
    flag: "database-url",
    default: "postgres://nexus@127.0.0.1:15432/nexus",
    doc: "PostgreSQL connection URL (password in the URL or in PGPASSWORD)",
    expect: "postgres://user[:password]@host:port/database",
    parse: url(["postgres:", "postgresql:"]),
    secret: true,
    group: "postgres",
  },
  pgPassword: {
    env: "PGPASSWORD",
    flag: "pg-password",
    doc: "PostgreSQL password when it is not in DATABASE_URL",
    expect: "a non-empty string",
    parse: text,
    secret: true,
    group: "postgres",
  },
  pgSslMode: {
    env: "PGSSLMODE",
    flag: "pg-ssl-mode",
    default: "disable",
    doc: "PostgreSQL TLS mode",
    expect: "disable, prefer, require or verify-full",
    parse: oneOf(["disable", "prefer", "require", "verify-full"] as const),
    group: "postgres",
  },
  s3Endpoint: {
    env: "S3_ENDPOINT",
    flag: "s3-endpoint",
    default: "http://127.0.0.1:18333",
    doc: "S3-compatible endpoint URL",
    expect: "an http:// or https:// URL",
    parse: url(["http:", "https:"]),
    group: "s3",
  },
  s3Region: {
    env: "S3_REGION",
    flag: "s3-region",
    default: "us-east-1",
    doc: "S3 region",
    expect: "a region name",
    parse: text,
    group: "s3",
  },
  s3AccessKeyId: {
    env: "S3_ACCESS_KEY_ID",
    flag: "s3-access-key-id",
    doc: "S3 access key id",
    expect: "a non-empty string",
    parse: text,
    secret: true,
    group: "s3",
  },
  s3SecretAccessKey: {
    env: "S3_SECRET_ACCESS_KEY",
    flag: "s3-secret-access-key",
    doc: "S3 secret access key (prefer the environment or S3_SECRET_ACCESS_KEY_FILE)",
    expect: "a non-empty string",
    parse: text,
    secret: true,
    group: "s3",
  },
  rawBucket: {
    env: "NEXUS_RAW_BUCKET",
    flag: "raw-bucket",
    default: "raw-data",
    doc: "Bucket for generated CSVs and manifests",
    expect: "a legal S3 bucket name",
    parse: bucketName,
    group: "s3",
  },
  archiveBucket: {
    env: "NEXUS_ARCHIVE_BUCKET",
    flag: "archive-bucket",
    default: "nexus-archive",
    doc: "Bucket for the raw click archive",
    expect: "a legal S3 bucket name",
    parse: bucketName,
    group: "s3",
  },
  allowedLatenessMs: {
    env: "NEXUS_ALLOWED_LATENESS_MS",
    flag: "allowed-lateness-ms",
    default: "60000",
    doc: "Watermark = latest event time seen - this; windows ending before it are final",
    expect: "an integer 0..86400000",
    parse: int(0, 86_400_000),
    group: "aggregator",
  },
  idleTimeoutMs: {
    env: "NEXUS_IDLE_TIMEOUT_MS",
    flag: "idle-timeout-ms",
    default: "30000",
    doc: "After this long without records a partition's watermark follows the wall clock",
    expect: "an integer 1000..86400000",
    parse: int(1000, 86_400_000),
    group: "aggregator",
  },
  maxFutureMs: {
    env: "NEXUS_MAX_FUTURE_MS",
    flag: "max-future-ms",
    default: "300000",
    doc:
      "Clock guard: an event whose time is more than this ahead of its Kafka record timestamp is dead-lettered as future_timestamp and never moves a watermark",
    expect: "an integer 0..604800000",
    parse: int(0, 604_800_000),
    group: "aggregator",
  },
  faultExitMs: {
    env: "NEXUS_FAULT_EXIT_MS",
    flag: "fault-exit-ms",
    default: "30000",
    doc:
      "A partition that cannot go on for a reason retrying cannot fix (S3 AccessDenied, NoSuchBucket, an unreadable ledger) is reported at once (status, /readyz, /metrics); after this long `run` exits non-zero so a supervisor restarts it",
    expect: "an integer 0..3600000",
    parse: int(0, 3_600_000),
    group: "general",
  },
  flushIntervalMs: {
    env: "NEXUS_FLUSH_INTERVAL_MS",
    flag: "flush-interval-ms",
    default: "1000",
    doc: "Aggregator flushes to Postgres at least this often",
    expect: "an integer 10..600000",
    parse: int(10, 600_000),
    group: "aggregator",
  },
  caughtUpFlushMs: {
    env: "NEXUS_CAUGHT_UP_FLUSH_MS",
    flag: "caught-up-flush-ms",
    default: "200",
    doc:
      "Once a partition has read to the log end, its results are flushed within this many ms, at most this often; at once when it gets there after a catch-up (0: by interval and size only)",
    expect: "an integer 0..600000",
    parse: int(0, 600_000),
    group: "aggregator",
  },
  flushMaxEvents: {
    env: "NEXUS_FLUSH_MAX_EVENTS",
    flag: "flush-max-events",
    default: "20000",
    doc: "Aggregator flushes after this many events, whichever comes first",
    expect: "an integer 1..10000000",
    parse: int(1, 10_000_000),
    group: "aggregator",
  },
  loaderPollMs: {
    env: "NEXUS_LOADER_POLL_MS",
    flag: "loader-poll-ms",
    default: "15000",
    doc: "How often the loader module looks for new CSV runs in the raw bucket",
    expect: "an integer 100..86400000",
    parse: int(100, 86_400_000),
    group: "general",
  },
  archiveMaxBytes: {
    env: "NEXUS_ARCHIVE_MAX_BYTES",
    flag: "archive-max-bytes",
    default: String(16 * 1024 * 1024),
    doc: "Archiver closes an object at this many uncompressed bytes",
    expect: "an integer 1024..1073741824",
    parse: int(1024, 1 << 30),
    group: "archiver",
  },
  archiveMaxRecords: {
    env: "NEXUS_ARCHIVE_MAX_RECORDS",
    flag: "archive-max-records",
    default: "100000",
    doc: "Archiver closes an object at this many records",
    expect: "an integer 1..100000000",
    parse: int(1, 100_000_000),
    group: "archiver",
  },
  archiveMaxBufferBytes: {
    env: "NEXUS_ARCHIVE_MAX_BUFFER_BYTES",
    flag: "archive-max-buffer-bytes",
    default: String(64 * 1024 * 1024),
    doc:
      "Archiver memory budget: bytes held by all open and not-yet-uploaded batches; over it the largest open batch closes early and fetching pauses",
    expect: "an integer 1048576..17179869184",
    parse: int(1 << 20, 16 * 1024 ** 3),
    group: "archiver",
  },
  archiveMaxAgeMs: {
    env: "NEXUS_ARCHIVE_MAX_AGE_MS",
    flag: "archive-max-age-ms",
    default: "60000",
    doc: "Archiver closes an open object after this much event/record time or idleness",
    expect: "an integer 100..86400000",
    parse: int(100, 86_400_000),
    group: "archiver",
  },
  httpHost: {
    env: "NEXUS_HTTP_HOST",
    flag: "http-host",
    default: "127.0.0.1",
    doc: "Address the HTTP endpoints bind to (loopback unless you mean it)",
    expect: "an IP address or host name",
    parse: text,
    group: "http",
  },
  httpPort: {
    env: "NEXUS_HTTP_PORT",
    flag: "http-port",
    default: "9464",
    doc: "Port of /healthz, /readyz, /metrics and the dashboard (0 disables)",
    expect: "an integer 0..65535",
    parse: int(0, 65535),
    group: "http",
  },
  httpAllowPublic: {
    env: "NEXUS_HTTP_ALLOW_PUBLIC",
    flag: "http-allow-public",
    default: "false",
    doc: "Allow NEXUS_HTTP_HOST to be a non-loopback address",
    expect: "true or false",
    parse: bool,
    group: "http",
  },
} satisfies Record<string, Setting>;

/** Names of all settings. */
export type SettingKey = keyof typeof settings;
