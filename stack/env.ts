/**
 * The environment a running stack hands to the app: `DATABASE_URL`, `KAFKA_BROKERS`, `S3_*` and
 * bucket names, as a map and as `KEY=value` lines for shells (`.nexus/stack.env`).
 *
 * @module
 */
import { KAFKA_SASL_USERNAME, type StackCredentials } from "./credentials.ts";
import { StackError } from "./errors.ts";

/** Default bucket for raw click batches (`NEXUS_RAW_BUCKET`). */
export const DEFAULT_RAW_BUCKET = "raw-data";
/** Default bucket for archived aggregates (`NEXUS_ARCHIVE_BUCKET`). */
export const DEFAULT_ARCHIVE_BUCKET = "nexus-archive";
/** The region the stack's S3 reports; SeaweedFS accepts any. */
export const S3_REGION = "us-east-1";

/** The buckets the app needs. */
export interface StackBuckets {
  raw: string;
  archive: string;
}

/** What `stackEnvMap` needs to describe a running stack. */
export interface StackEnvInput {
  kafkaPort: number;
  /** The misadvertised test listener's port (see kafka_config.ts). */
  kafkaMisadvertisedPort: number;
  /** The SASL_PLAINTEXT (SCRAM-SHA-512) listener's port, when the broker has one. */
  kafkaSaslPort?: number;
  /** The SSL listener's port and the CA file that signed its certificate, when it has one. */
  kafkaTls?: { port: number; caFile: string };
  postgresPort: number;
  s3Port: number;
  credentials: StackCredentials;
  buckets: StackBuckets;
}

/** The variables that, when all set, mean the services are external and the stack stays off. */
export const EXTERNAL_MARKERS = ["KAFKA_BROKERS", "DATABASE_URL", "S3_ENDPOINT"] as const;

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Checks one bucket name against S3 naming rules, failing with the variable and fix. */
export function parseBucket(variable: string, raw: string | undefined, fallback: string): string {
  if (raw === undefined || raw.trim() === "") return fallback;
  const name = raw.trim();
  if (!BUCKET_RE.test(name) || name.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(name)) {
    throw new StackError(
      `Cannot use ${variable}: current value is ${JSON.stringify(raw)}; fix: use 3-63 lowercase ` +
        `letters, digits, dots or hyphens, starting and ending with a letter or digit, ` +
        `or unset it for ${fallback}`,
    );
  }
  return name;
}

/** Reads the bucket names from `NEXUS_RAW_BUCKET` / `NEXUS_ARCHIVE_BUCKET` (with defaults). */
export function resolveBuckets(env: Record<string, string | undefined>): StackBuckets {
  const raw = parseBucket("NEXUS_RAW_BUCKET", env.NEXUS_RAW_BUCKET, DEFAULT_RAW_BUCKET);
  const archive = parseBucket(
    "NEXUS_ARCHIVE_BUCKET",
    env.NEXUS_ARCHIVE_BUCKET,
    DEFAULT_ARCHIVE_BUCKET,
  );
  if (raw === archive) {
    throw new StackError(
      `Cannot use NEXUS_ARCHIVE_BUCKET: current value is ${JSON.stringify(archive)}, the same ` +
        `as NEXUS_RAW_BUCKET; fix: give the two buckets different names`,
    );
  }
  return { raw, archive };
}

/** Builds the app's environment for a running stack (contains secrets). */
export function stackEnvMap(input: StackEnvInput): Record<string, string> {
  const pw = encodeURIComponent(input.credentials.postgresPassword);
  const security: Record<string, string> = {};
  if (input.kafkaSaslPort && input.credentials.kafkaSaslPassword) {
    security.NEXUS_STACK_KAFKA_SASL_ADDRESS = `127.0.0.1:${input.kafkaSaslPort}`;
    security.NEXUS_STACK_KAFKA_SASL_MECHANISM = "scram-sha-512";
    security.NEXUS_STACK_KAFKA_SASL_USERNAME = KAFKA_SASL_USERNAME;
    security.NEXUS_STACK_KAFKA_SASL_PASSWORD = input.credentials.kafkaSaslPassword;
  }
  if (input.kafkaTls) {
    security.NEXUS_STACK_KAFKA_TLS_ADDRESS = `127.0.0.1:${input.kafkaTls.port}`;
    security.NEXUS_STACK_KAFKA_CA_FILE = input.kafkaTls.caFile;
  }
  return {
    DATABASE_URL: `postgres://nexus:${pw}@127.0.0.1:${input.postgresPort}/nexus`,
    KAFKA_BROKERS: `127.0.0.1:${input.kafkaPort}`,
    NEXUS_STACK_KAFKA_TRAP_ADDRESS: `127.0.0.1:${input.kafkaMisadvertisedPort}`,
    S3_ENDPOINT: `http://127.0.0.1:${input.s3Port}`,
    S3_ACCESS_KEY_ID: input.credentials.s3AccessKeyId,
    S3_SECRET_ACCESS_KEY: input.credentials.s3SecretAccessKey,
    S3_REGION,
    NEXUS_RAW_BUCKET: input.buckets.raw,
    NEXUS_ARCHIVE_BUCKET: input.buckets.archive,
    ...security,
  };
}

/** Renders a map as `KEY=value` lines (values here never need quoting: URL-safe secrets). */
export function renderEnvLines(map: Record<string, string>): string {
  return Object.entries(map).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

/** Parses `KEY=value` lines (blank lines and `#` comments skipped; surrounding quotes removed). */
export function parseEnvLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(trimmed);
    if (!match) continue;
    let value = match[2] ?? "";
    if (/^(["']).*\1$/.test(value)) value = value.slice(1, -1);
    out[match[1] as string] = value;
  }
  return out;
}

/**
 * Returns the external services' variables when `KAFKA_BROKERS`, `DATABASE_URL` and
 * `S3_ENDPOINT` are all set (non-empty) in `env`, otherwise undefined.
 */
export function externalEnv(
  env: Record<string, string | undefined>,
): Record<string, string> | undefined {
  if (!EXTERNAL_MARKERS.every((k) => (env[k] ?? "").trim() !== "")) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v !== undefined && /^(KAFKA_|DATABASE_|PG|S3_|NEXUS_)/.test(k)) out[k] = v;
  }
  return out;
}
