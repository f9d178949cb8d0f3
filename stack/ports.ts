/**
 * The stack's TCP ports, read from `NEXUS_STACK_*_PORT` and checked before anything starts.
 * Every service listens on 127.0.0.1 only.
 *
 * @module
 */
import { StackError } from "./errors.ts";

/** Default Kafka client port; the KRaft controller listens on the next port. */
export const DEFAULT_KAFKA_PORT = 19092;
/** Default PostgreSQL port. */
export const DEFAULT_PG_PORT = 15432;
/** Default S3 port; SeaweedFS's internal ports are the eight after it (and port+10008). */
export const DEFAULT_S3_PORT = 18333;

/** SeaweedFS's internal ports, as offsets from the S3 port (not its defaults 9333/8080/8888). */
export const SEAWEED_PORT_OFFSETS = {
  master: 1,
  volume: 2,
  filer: 3,
  masterGrpc: 4,
  volumeGrpc: 5,
  filerGrpc: 6,
  s3Grpc: 7,
  admin: 8,
} as const;

/** SeaweedFS fixes the admin gRPC port at admin port + 10000 (its embedded worker dials it). */
export const SEAWEED_ADMIN_GRPC_OFFSET = 10000;

/** The internal SeaweedFS ports derived from the S3 port. */
export type SeaweedPorts = { [K in keyof typeof SEAWEED_PORT_OFFSETS]: number } & {
  adminGrpc: number;
};

/** All ports of the stack. */
export interface StackPorts {
  kafka: number;
  kafkaController: number;
  /** A listener that advertises an unreachable address, for the advertised-listener test. */
  kafkaMisadvertised: number;
  /** SASL_PLAINTEXT listener (SCRAM-SHA-512): Kafka port + 3. */
  kafkaSasl: number;
  /** SSL listener (self-signed CA): Kafka port + 4. */
  kafkaTls: number;
  postgres: number;
  s3: number;
  seaweed: SeaweedPorts;
}

const DEFAULTS: Record<string, number> = {
  NEXUS_STACK_KAFKA_PORT: DEFAULT_KAFKA_PORT,
  NEXUS_STACK_PG_PORT: DEFAULT_PG_PORT,
  NEXUS_STACK_S3_PORT: DEFAULT_S3_PORT,
};
const LOWEST = 1024;
const HIGHEST = 65535;

/**
 * Parses one port variable. Unset or empty means `fallback`; anything else must be a whole
 * number from 1024 to `max` (default 65535); `why` explains a lower `max` in the message.
 */
export function parsePort(
  name: string,
  raw: string | undefined,
  fallback: number,
  max = HIGHEST,
  why = "",
): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const text = raw.trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(value) || value < LOWEST || value > max) {
    throw new StackError(
      `Cannot use ${name}: current value is ${JSON.stringify(raw)}; ` +
        `fix: set it to a whole number from ${LOWEST} to ${max}${why ? ` (${why})` : ""}, ` +
        `or unset it for ${fallback}`,
    );
  }
  return value;
}

/** Lists every port with the variable that sets it, e.g. for collision checks and messages. */
export function portOwners(ports: StackPorts): { port: number; variable: string; use: string }[] {
  const list = [
    { port: ports.kafka, variable: "NEXUS_STACK_KAFKA_PORT", use: "Kafka" },
    { port: ports.kafkaController, variable: "NEXUS_STACK_KAFKA_PORT", use: "Kafka controller" },
    {
      port: ports.kafkaMisadvertised,
      variable: "NEXUS_STACK_KAFKA_PORT",
      use: "Kafka misadvertised test listener",
    },
    { port: ports.kafkaSasl, variable: "NEXUS_STACK_KAFKA_PORT", use: "Kafka SASL listener" },
    { port: ports.kafkaTls, variable: "NEXUS_STACK_KAFKA_PORT", use: "Kafka TLS listener" },
    { port: ports.postgres, variable: "NEXUS_STACK_PG_PORT", use: "PostgreSQL" },
    { port: ports.s3, variable: "NEXUS_STACK_S3_PORT", use: "S3" },
  ];
  for (const [key, port] of Object.entries(ports.seaweed)) {
    list.push({ port, variable: "NEXUS_STACK_S3_PORT", use: `SeaweedFS ${key}` });
  }
  return list;
}

/** Derives SeaweedFS's internal ports from the S3 port. */
export function seaweedPorts(s3Port: number): SeaweedPorts {
  const out = { adminGrpc: s3Port + SEAWEED_PORT_OFFSETS.admin + SEAWEED_ADMIN_GRPC_OFFSET };
  for (const [key, offset] of Object.entries(SEAWEED_PORT_OFFSETS)) {
    (out as Record<string, number>)[key] = s3Port + offset;
  }
  return out as SeaweedPorts;
}

/**
 * Reads the stack ports from `env` (defaults 19092, 15432, 18333) and fails with one line
 * naming the variable, its value and the fix when a value is invalid or two services collide.
 */
export function resolveStackPorts(env: Record<string, string | undefined>): StackPorts {
  const kafka = parsePort(
    "NEXUS_STACK_KAFKA_PORT",
    env.NEXUS_STACK_KAFKA_PORT,
    DEFAULT_KAFKA_PORT,
    HIGHEST - 4,
    "the controller uses port+1, a misadvertised test listener port+2, SASL port+3, TLS port+4",
  );
  const postgres = parsePort("NEXUS_STACK_PG_PORT", env.NEXUS_STACK_PG_PORT, DEFAULT_PG_PORT);
  const s3 = parsePort(
    "NEXUS_STACK_S3_PORT",
    env.NEXUS_STACK_S3_PORT,
    DEFAULT_S3_PORT,
    HIGHEST - SEAWEED_PORT_OFFSETS.admin - SEAWEED_ADMIN_GRPC_OFFSET,
    "SeaweedFS also uses port+1..port+8 and port+10008",
  );
  const ports: StackPorts = {
    kafka,
    kafkaController: kafka + 1,
    kafkaMisadvertised: kafka + 2,
    kafkaSasl: kafka + 3,
    kafkaTls: kafka + 4,
    postgres,
    s3,
    seaweed: seaweedPorts(s3),
  };
  const seen = new Map<number, { variable: string; use: string }>();
  for (const owner of portOwners(ports)) {
    const other = seen.get(owner.port);
    if (other && other.variable !== owner.variable) {
      const raw = env[owner.variable]?.trim();
      const shown = raw ? JSON.stringify(raw) : `unset (default ${DEFAULTS[owner.variable]})`;
      throw new StackError(
        `Cannot use ${owner.variable}: current value is ${shown}, whose ${owner.use} ` +
          `port ${owner.port} is also the ${other.use} port from ${other.variable}; ` +
          `fix: choose ${owner.variable} so the port ranges do not overlap`,
      );
    }
    seen.set(owner.port, owner);
  }
  return ports;
}

/** Default client port of the first broker of the 3-broker cluster (`up --cluster`). */
export const DEFAULT_CLUSTER_PORT = 29092;
/** Brokers of the local cluster. */
export const CLUSTER_SIZE = 3;

/** One node of the local 3-broker cluster: broker i listens on base+2(i-1), its controller +1. */
export interface ClusterNodePorts {
  id: number;
  client: number;
  controller: number;
}

/** Reads `NEXUS_STACK_CLUSTER_PORT` (default 29092) and lays out the cluster's six ports. */
export function resolveClusterPorts(env: Record<string, string | undefined>): ClusterNodePorts[] {
  const base = parsePort(
    "NEXUS_STACK_CLUSTER_PORT",
    env.NEXUS_STACK_CLUSTER_PORT,
    DEFAULT_CLUSTER_PORT,
    HIGHEST - 2 * CLUSTER_SIZE,
    "the three brokers use port..port+5",
  );
  return Array.from({ length: CLUSTER_SIZE }, (_, i) => ({
    id: i + 1,
    client: base + 2 * i,
    controller: base + 2 * i + 1,
  }));
}

/**
 * The kernel's range of ports for outgoing connections (`/proc/sys/net/ipv4/ip_local_port_range`),
 * or undefined where it cannot be read.
 */
export function ephemeralPortRange(
  read: () => string = () => Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range"),
): [number, number] | undefined {
  try {
    const [low, high] = read().trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && Number.isInteger(high) ? [low!, high!] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A warning when stack ports lie in the kernel's ephemeral range: while a service is stopped
 * (a restart, or between two test runs), any outgoing connection of the machine may be given
 * one of its ports, and the service's next start then fails with "Address already in use" (seen
 * as Kafka's misadvertised listener failing to bind after a stack restart). One line per
 * variable; undefined when no port is in the range.
 */
export function ephemeralPortWarning(
  owners: readonly { port: number; variable: string; use: string }[],
  range: [number, number] | undefined,
): string | undefined {
  if (!range) return undefined;
  const [low, high] = range;
  const byVariable = new Map<string, number[]>();
  for (const o of owners) {
    if (o.port < low || o.port > high) continue;
    const list = byVariable.get(o.variable) ?? [];
    list.push(o.port);
    byVariable.set(o.variable, list);
  }
  if (byVariable.size === 0) return undefined;
  const which = [...byVariable].map(([variable, ports]) =>
    `${variable} (ports ${Math.min(...ports)}–${Math.max(...ports)})`
  ).join(", ");
  return `${which} inside the kernel's ephemeral port range ${low}–${high}: an outgoing ` +
    `connection can hold one of them when a service starts, which then fails with "Address ` +
    `already in use"; fix: pick ports below ${low} (the defaults are)`;
}
