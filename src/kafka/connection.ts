/**
 * How to reach the brokers, independent of the client library: bootstrap addresses, client id,
 * SASL and TLS, timeouts. Built once from `Config`; both adapters take this, never `Config`.
 *
 * @module
 */
import type { Config } from "../config/mod.ts";
import { ConfigError } from "../config/mod.ts";

/** SASL credentials (the password is a secret: never logged). */
export interface SaslSettings {
  mechanism: "plain" | "scram-sha-256" | "scram-sha-512";
  username: string;
  password: string;
}

/** Everything an adapter needs to connect. */
export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  sasl?: SaslSettings;
  /** TLS to the brokers; `ca` is PEM text (default: the system's trust store). */
  tls?: { ca?: string };
  /** TCP + handshake timeout, ms. */
  connectTimeoutMs: number;
  /** Longest wait for one response, ms. */
  requestTimeoutMs: number;
}

/** Options of `kafkaConnection`. */
export interface ConnectionOptions {
  /** Appended to the configured client id, e.g. `aggregator` → `nexus-aggregator`. */
  clientSuffix?: string;
  /** Default 5000. */
  connectTimeoutMs?: number;
  /** Default 30000. */
  requestTimeoutMs?: number;
}

/**
 * The connection settings of `config`.
 *
 * @throws {ConfigError} when the TLS CA file cannot be read.
 */
export function kafkaConnection(config: Config, options: ConnectionOptions = {}): KafkaConnection {
  let tls: KafkaConnection["tls"];
  if (config.kafkaTls) {
    tls = {};
    if (config.kafkaTlsCaFile) {
      try {
        tls.ca = Deno.readTextFileSync(config.kafkaTlsCaFile);
      } catch (e) {
        throw new ConfigError(
          "KAFKA_TLS_CA_FILE",
          `Cannot start: KAFKA_TLS_CA_FILE is ${
            JSON.stringify(config.kafkaTlsCaFile)
          }: cannot read it (${
            (e as Error).message
          }). Fix: point it at the PEM file of the brokers' CA.`,
        );
      }
    }
  }
  return {
    brokers: config.kafkaBrokers,
    clientId: options.clientSuffix
      ? `${config.kafkaClientId}-${options.clientSuffix}`
      : config.kafkaClientId,
    sasl: config.kafkaSaslMechanism === "none" ? undefined : {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername ?? "",
      password: config.kafkaSaslPassword ?? "",
    },
    tls,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    requestTimeoutMs: options.requestTimeoutMs ?? 30000,
  };
}
