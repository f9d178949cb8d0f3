/**
 * The local Kafka 4.1.1: a single KRaft broker+controller run from Maven Central jars
 * (fetched once with `mvn` from `stack/kafka/pom.xml`), data in `.nexus/data/kafka`,
 * logs in `.nexus/logs/kafka.log`.
 *
 * @module
 */
import { join } from "node:path";
import { Kafka, logLevel } from "kafkajs";
import { outputHint, runCommand } from "./command.ts";
import { reasonOf, StackError } from "./errors.ts";
import { waitHealthy } from "./health.ts";
import { kafkaJavaArgs, kafkaProperties, newClusterId, renderProperties } from "./kafka_config.ts";
import { appendBanner } from "./logs.ts";
import { assertPortsFree } from "./net.ts";
import { displayPath, KAFKA_VERSION } from "./paths.ts";
import { isOurProcess, spawnDetached, terminateProcess } from "./process.ts";
import {
  portsDiffer,
  readRunRecord,
  removeRunRecord,
  runningPid,
  writeRunRecord,
} from "./run_record.ts";
import type { Service, ServiceStatus, StackContext } from "./service.ts";
import { KAFKA_SASL_USERNAME } from "./credentials.ts";
import { ensureKafkaTls } from "./tls.ts";
import { waitUntil } from "./wait.ts";

/** Max heap of the broker JVM. */
export const KAFKA_HEAP = "768m";
/** Jars that must be present for the install to count as complete. */
const REQUIRED_JARS = [
  `kafka_2.13-${KAFKA_VERSION}.jar`,
  `kafka-tools-${KAFKA_VERSION}.jar`,
  `kafka-clients-${KAFKA_VERSION}.jar`,
  "log4j-slf4j2-impl-",
  "slf4j-api-2.",
];
const MARKER = ".nexus-complete";

function markers(ctx: StackContext): string[] {
  return ["kafka.Kafka", ctx.paths.config.kafkaProperties];
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Fetches the Kafka jars into `.nexus/tools/kafka-4.1.1/libs` unless the pom is unchanged. */
async function install(ctx: StackContext): Promise<void> {
  const { paths } = ctx;
  const pom = await Deno.readTextFile(paths.assets.kafkaPom);
  // Whitespace-insensitive, so `deno fmt` reflowing the XML does not trigger a re-download.
  const want = await sha256(pom.replace(/\s+/g, " ").trim());
  const marker = join(paths.tools.kafkaLibs, MARKER);
  const have = await Deno.readTextFile(marker).catch(() => "");
  if (have.trim() === want) return;
  ctx.log(`kafka: fetching Kafka ${KAFKA_VERSION} jars with mvn (first run only)`);
  await Deno.remove(paths.tools.kafkaLibs, { recursive: true }).catch(() => {});
  await Deno.mkdir(paths.tools.kafkaLibs, { recursive: true });
  const result = await runCommand("mvn", [
    "-q",
    "-B",
    "-Dstyle.color=never",
    "-f",
    paths.assets.kafkaPom,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${paths.tools.kafkaLibs}`,
    "-DincludeScope=runtime",
  ], {
    purpose: "the Kafka jar download",
    installHint: "apt-get install maven (and a JDK 17+)",
  });
  if (result.code !== 0) {
    throw new StackError(
      `Cannot install kafka: current value is mvn exit code ${result.code} (${
        outputHint(result)
      }); ` +
        `fix: check access to Maven Central (~/.m2/settings.xml) and run \`deno task stack up\` again`,
      { service: "kafka" },
    );
  }
  const names: string[] = [];
  for await (const e of Deno.readDir(paths.tools.kafkaLibs)) names.push(e.name);
  const missing = REQUIRED_JARS.filter((j) => !names.some((n) => n.startsWith(j)));
  if (missing.length > 0) {
    throw new StackError(
      `Cannot install kafka: current value is a libs folder without ${missing.join(", ")}; ` +
        `fix: check ${
          displayPath(paths, paths.assets.kafkaPom)
        } and run \`deno task stack up\` again`,
      { service: "kafka" },
    );
  }
  await Deno.writeTextFile(marker, want + "\n");
}

/** Writes server.properties, formats the storage once, and starts the broker detached. */
async function start(ctx: StackContext): Promise<void> {
  const { paths, ports } = ctx;
  if (await runningPid(paths, "kafka", markers(ctx)) !== undefined) return;
  await removeRunRecord(paths, "kafka");
  await Deno.mkdir(paths.data.kafka, { recursive: true });
  await Deno.mkdir(paths.config.root, { recursive: true, mode: 0o700 });
  const credentials = await ctx.credentials();
  const keystorePassword = credentials.kafkaKeystorePassword!;
  if (await ensureKafkaTls(paths, keystorePassword)) {
    ctx.log("kafka: created a self-signed CA and broker certificate for the TLS listener");
  }
  const props = kafkaProperties({
    port: ports.kafka,
    controllerPort: ports.kafkaController,
    misadvertisedPort: ports.kafkaMisadvertised,
    saslPort: ports.kafkaSasl,
    tlsPort: ports.kafkaTls,
    keystore: { location: paths.config.tls.keystore, password: keystorePassword },
    logDir: paths.data.kafka,
  });
  await Deno.writeTextFile(
    paths.config.kafkaProperties,
    renderProperties(
      props,
      "Generated by `deno task stack up` (src/stack/kafka.ts); edits are lost.",
    ),
  );
  const java = kafkaJavaArgs({
    libs: paths.tools.kafkaLibs,
    log4jConfig: paths.assets.kafkaLog4j,
    heap: KAFKA_HEAP,
  });
  if (!await exists(join(paths.data.kafka, "meta.properties"))) {
    ctx.log("kafka: formatting storage (first run only)");
    const result = await runCommand("java", [
      ...java,
      "kafka.tools.StorageTool",
      "format",
      "--ignore-formatted",
      "-t",
      newClusterId(),
      "-c",
      paths.config.kafkaProperties,
    ], {
      purpose: "the Kafka storage format",
      installHint: "apt-get install openjdk-17-jre-headless",
    });
    if (result.code !== 0) {
      throw new StackError(
        `Cannot format kafka storage: current value is exit code ${result.code} ` +
          `(${outputHint(result)}); fix: delete ${displayPath(paths, paths.data.kafka)} and retry`,
        { service: "kafka" },
      );
    }
  }
  assertPortsFree("kafka", [
    { port: ports.kafka, variable: "NEXUS_STACK_KAFKA_PORT" },
    { port: ports.kafkaController, variable: "NEXUS_STACK_KAFKA_PORT (controller = port+1)" },
    { port: ports.kafkaMisadvertised, variable: "NEXUS_STACK_KAFKA_PORT (test listener = port+2)" },
    { port: ports.kafkaSasl, variable: "NEXUS_STACK_KAFKA_PORT (SASL listener = port+3)" },
    { port: ports.kafkaTls, variable: "NEXUS_STACK_KAFKA_PORT (TLS listener = port+4)" },
  ]);
  await appendBanner(paths.logs.kafka, `nexus stack: starting kafka on 127.0.0.1:${ports.kafka}`);
  const pid = spawnDetached({
    command: "java",
    args: [...java, "kafka.Kafka", paths.config.kafkaProperties],
    logFile: paths.logs.kafka,
    cwd: paths.nexus,
  });
  await writeRunRecord(paths, "kafka", {
    pid,
    port: ports.kafka,
    ports: wantedPorts(ctx),
  });
}

function wantedPorts(ctx: StackContext): number[] {
  const p = ctx.ports;
  return [p.kafka, p.kafkaController, p.kafkaMisadvertised, p.kafkaSasl, p.kafkaTls];
}

/** True when the SCRAM user logs in on the SASL listener (undefined: yes; else the reason). */
async function saslLogin(port: number, password: string): Promise<string | undefined> {
  const kafka = new Kafka({
    clientId: "nexus-stack-sasl-check",
    brokers: [`127.0.0.1:${port}`],
    sasl: { mechanism: "scram-sha-512", username: KAFKA_SASL_USERNAME, password },
    connectionTimeout: 3000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return undefined;
  } catch (e) {
    return reasonOf(e);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Creates (or resets) the SCRAM-SHA-512 user `nexus` with the stack's password, unless it can
 * already log in: `kafka-configs --alter --add-config SCRAM-SHA-512=[...]` through the
 * PLAINTEXT listener. Kafka 4.1 stores SCRAM credentials in the KRaft metadata log.
 */
async function ensureScramUser(ctx: StackContext): Promise<void> {
  const record = await readRunRecord(ctx.paths, "kafka");
  const saslPort = record?.ports[3];
  if (saslPort === undefined) return; // started by an older version without the listener
  const password = (await ctx.credentials()).kafkaSaslPassword!;
  if (await saslLogin(saslPort, password) === undefined) return;
  const java = kafkaJavaArgs({
    libs: ctx.paths.tools.kafkaLibs,
    log4jConfig: ctx.paths.assets.kafkaLog4j,
    heap: "256m",
  });
  // The password goes in a temporary 0600 file (--add-config-file), never on the command line.
  const tmp = await Deno.makeTempFile({ dir: ctx.paths.config.root, prefix: "scram-" });
  try {
    await Deno.chmod(tmp, 0o600);
    await Deno.writeTextFile(
      tmp,
      `SCRAM-SHA-512=iterations=4096,password=${password}\n`,
    );
    const result = await runCommand("java", [
      ...java,
      "kafka.admin.ConfigCommand",
      "--bootstrap-server",
      `127.0.0.1:${record!.port}`,
      "--alter",
      "--add-config-file",
      tmp,
      "--entity-type",
      "users",
      "--entity-name",
      KAFKA_SASL_USERNAME,
    ], { purpose: "the Kafka SCRAM user setup", timeoutMs: 60_000 });
    if (result.code !== 0) {
      throw new StackError(
        `Cannot create the Kafka SCRAM user: current value is kafka-configs exit code ` +
          `${result.code} (${outputHint(result).replaceAll(password, "***")}); fix: read ${
            displayPath(ctx.paths, ctx.paths.logs.kafka)
          }`,
        { service: "kafka" },
      );
    }
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  let reason: string | undefined = "not checked";
  const ok = await waitUntil(
    async () => (reason = await saslLogin(saslPort, password)) === undefined,
    {
      timeoutMs: 15_000,
      intervalMs: 300,
    },
  );
  if (!ok) {
    throw new StackError(
      `Cannot log in to the Kafka SASL listener: current value is ${reason}; fix: read ${
        displayPath(ctx.paths, ctx.paths.logs.kafka)
      }`,
      { service: "kafka" },
    );
  }
  ctx.log(`kafka: SCRAM-SHA-512 user ${KAFKA_SASL_USERNAME} ready on 127.0.0.1:${saslPort}`);
}

async function clientPort(ctx: StackContext): Promise<number> {
  return (await readRunRecord(ctx.paths, "kafka"))?.port ?? ctx.ports.kafka;
}

/** Healthy when a kafkajs admin connects and `describeCluster()` lists a broker. */
async function check(ctx: StackContext): Promise<string | undefined> {
  const port = await clientPort(ctx);
  const kafka = new Kafka({
    clientId: "nexus-stack-health",
    brokers: [`127.0.0.1:${port}`],
    connectionTimeout: 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 ? undefined : "the cluster lists no broker yet";
  } catch (e) {
    return reasonOf(e);
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function waitReady(ctx: StackContext, timeoutMs: number): Promise<void> {
  const pid = await runningPid(ctx.paths, "kafka", markers(ctx));
  await waitHealthy({
    name: "kafka",
    paths: ctx.paths,
    logFile: ctx.paths.logs.kafka,
    timeoutMs,
    check: () => check(ctx),
    alive: async () => pid !== undefined && await isOurProcess(pid, markers(ctx)),
  });
  await ensureScramUser(ctx);
}

/** SIGTERM (controlled shutdown), SIGKILL after 30 s; waits until the JVM is gone. */
async function stop(ctx: StackContext): Promise<"not-running" | "stopped" | "killed"> {
  let outcome: "not-running" | "stopped" | "killed" = "not-running";
  // Normally one pass; more only if a second broker was started by hand with our config.
  for (let round = 0; round < 5; round++) {
    const pid = await runningPid(ctx.paths, "kafka", markers(ctx));
    if (pid === undefined) break;
    const r = await terminateProcess(pid, { markers: markers(ctx), graceMs: 30_000 });
    if (r !== "not-running") outcome = r;
  }
  await removeRunRecord(ctx.paths, "kafka");
  return outcome;
}

async function status(ctx: StackContext): Promise<ServiceStatus> {
  const pid = await runningPid(ctx.paths, "kafka", markers(ctx));
  const record = await readRunRecord(ctx.paths, "kafka");
  const port = pid !== undefined && record ? record.port : ctx.ports.kafka;
  const wanted = wantedPorts(ctx);
  return {
    name: "kafka",
    running: pid !== undefined,
    pid,
    address: `127.0.0.1:${port}`,
    port,
    portsDiffer: pid !== undefined && record !== undefined && portsDiffer(record.ports, wanted),
    logFile: ctx.paths.logs.kafka,
  };
}

/** Kafka as a stack service. */
export const kafkaService: Service = {
  name: "kafka",
  install,
  start,
  check,
  waitReady,
  stop,
  status,
};
