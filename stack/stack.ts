/**
 * The stack operations behind `deno task stack …` and `ensureStack`: bring everything up
 * (idempotent), take it down, report status, print the app's environment, and stop/start
 * single services for fault tests.
 *
 * @module
 */
import { join } from "node:path";
import { loadOrCreateCredentials, readCredentials, writeSecretFile } from "./credentials.ts";
import { renderEnvLines, resolveBuckets, stackEnvMap } from "./env.ts";
import { reasonOf, StackError } from "./errors.ts";
import { kafkaService } from "./kafka.ts";
import {
  clusterBrokers,
  clusterDown,
  type ClusterNodeStatus,
  clusterStatus,
  clusterUp,
  restartNode,
  stopNode,
} from "./cluster.ts";
import { withLock } from "./lock.ts";
import { displayPath, stackPaths } from "./paths.ts";
import {
  ephemeralPortRange,
  ephemeralPortWarning,
  portOwners,
  resolveStackPorts,
} from "./ports.ts";
import { postgresService } from "./postgres.ts";
import { removeIfExists } from "./process.ts";
import { readRunRecord } from "./run_record.ts";
import { seaweedfsService } from "./seaweedfs.ts";
import {
  type Service,
  SERVICE_NAMES,
  type ServiceName,
  type ServiceStatus,
  type StackContext,
} from "./service.ts";

/** Options shared by every stack operation. */
export interface StackOptions {
  /** Repository root holding `.nexus/` and `stack/`. Default: the repo of this file. */
  root?: string;
  /** Environment for ports and bucket names. Default: `Deno.env.toObject()`. */
  env?: Record<string, string | undefined>;
  /** Progress lines. Default: written to stderr as `stack: <line>`. */
  log?: (line: string) => void;
  /** Longest wait for one service to become healthy, in ms. Default 120 000. */
  timeoutMs?: number;
}

const SERVICES: Record<ServiceName, Service> = {
  kafka: kafkaService,
  postgres: postgresService,
  s3: seaweedfsService,
};

const DEFAULT_TIMEOUT_MS = 120_000;

function stderrLog(line: string): void {
  console.error(`stack: ${line}`);
}

/** Builds the context of one operation; reads ports and buckets, fails fast when invalid. */
export function stackContext(opts: StackOptions = {}, createCredentials = true): StackContext {
  const env = opts.env ?? Deno.env.toObject();
  const paths = stackPaths(opts.root);
  let credentials: ReturnType<StackContext["credentials"]> | undefined;
  return {
    paths,
    ports: resolveStackPorts(env),
    buckets: resolveBuckets(env),
    isRoot: Deno.uid() === 0,
    log: opts.log ?? stderrLog,
    credentials() {
      credentials ??= createCredentials
        ? loadOrCreateCredentials(paths.config.credentials)
        : readCredentials(paths.config.credentials).then((c) => {
          if (c) return c;
          throw new StackError(
            `Cannot read stack credentials: current value is no ` +
              `${displayPath(paths, paths.config.credentials)}; fix: run \`deno task stack up\``,
          );
        });
      return credentials;
    },
  };
}

/** Parses a service name as typed on the command line. */
export function parseServiceName(raw: string | undefined): ServiceName {
  if (raw !== undefined && (SERVICE_NAMES as readonly string[]).includes(raw)) {
    return raw as ServiceName;
  }
  throw new StackError(
    `Cannot pick a service: current value is ${JSON.stringify(raw ?? "")}; ` +
      `fix: use one of ${SERVICE_NAMES.join(", ")}`,
  );
}

function seconds(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)} s`;
}

function lockFile(ctx: StackContext): string {
  return join(ctx.paths.run.root, "stack.lock");
}

function locked<T>(ctx: StackContext, fn: () => Promise<T>): Promise<T> {
  return withLock(lockFile(ctx), fn, {
    onWait: (pid) => ctx.log(`waiting for another stack command (pid ${pid}) to finish`),
  });
}

/** Runs `fn` for each service concurrently; fails with every failing service's line. */
async function forEach<T>(
  names: readonly ServiceName[],
  fn: (service: Service) => Promise<T>,
): Promise<T[]> {
  const results = await Promise.allSettled(names.map((n) => fn(SERVICES[n])));
  const errors = results.flatMap((r) => r.status === "rejected" ? [r.reason] : []);
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) {
    const lines = errors.map((e) => e instanceof StackError ? e.message : reasonOf(e));
    const first = errors.find((e) => e instanceof StackError) as StackError | undefined;
    throw new StackError(lines.join("\n"), { service: first?.service, logFile: first?.logFile });
  }
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** Installs (if needed), starts and waits for the given services; restarts any on old ports. */
async function bringUp(ctx: StackContext, names: readonly ServiceName[], timeoutMs: number) {
  const risky = ephemeralPortWarning(portOwners(ctx.ports), ephemeralPortRange());
  if (risky) ctx.log(`warning: ${risky}`);
  await forEach(names, async (service) => {
    const before = await service.status(ctx);
    if (before.running && before.portsDiffer) {
      ctx.log(`${service.name}: running on other ports than requested; restarting`);
      await service.stop(ctx);
    }
    const t0 = performance.now();
    await service.install(ctx);
    const wasRunning = (await service.status(ctx)).running;
    await service.start(ctx);
    await service.waitReady(ctx, timeoutMs);
    const after = await service.status(ctx);
    const verb = wasRunning ? "healthy" : "started";
    ctx.log(`${service.name}: ${verb} at ${after.address} (pid ${after.pid}, ${seconds(t0)})`);
  });
}

/** Writes `.nexus/stack.env` (0600) with the env of the running stack and returns it. */
async function writeEnvFile(ctx: StackContext): Promise<Record<string, string>> {
  const map = await envOf(ctx);
  await writeSecretFile(ctx.paths.envFile, renderEnvLines(map));
  return map;
}

async function envOf(ctx: StackContext): Promise<Record<string, string>> {
  const [kafka, postgres, s3] = await Promise.all(
    SERVICE_NAMES.map((n) => SERVICES[n].status(ctx)),
  );
  const stopped = [kafka, postgres, s3].filter((s) => !s?.running).map((s) => s?.name);
  if (stopped.length > 0 || !kafka || !postgres || !s3) {
    throw new StackError(
      `Cannot describe the stack env: current value is ${stopped.join(", ")} stopped; ` +
        `fix: run \`deno task stack up\``,
    );
  }
  // The SASL and TLS listeners exist only on brokers started since they were added.
  const record = await readRunRecord(ctx.paths, "kafka");
  const saslPort = record?.ports[3];
  const tlsPort = record?.ports[4];
  return stackEnvMap({
    kafkaPort: kafka.port,
    kafkaMisadvertisedPort: kafka.port + 2,
    kafkaSaslPort: saslPort,
    kafkaTls: tlsPort ? { port: tlsPort, caFile: ctx.paths.config.tls.caCert } : undefined,
    postgresPort: postgres.port,
    s3Port: s3.port,
    credentials: await ctx.credentials(),
    buckets: ctx.buckets,
  });
}

/**
 * Brings the whole stack up and returns its env map. Idempotent: when everything already runs
 * and is healthy it only checks and returns. Installs what is missing (Kafka jars via mvn,
 * SeaweedFS via pip, initdb), starts what is stopped, and waits until all three are healthy.
 */
export async function stackUp(opts: StackOptions = {}): Promise<Record<string, string>> {
  const ctx = stackContext(opts);
  const t0 = performance.now();
  return await locked(ctx, async () => {
    const statuses = await Promise.all(SERVICE_NAMES.map((n) => SERVICES[n].status(ctx)));
    if (statuses.every((s) => s.running && !s.portsDiffer)) {
      const problems = await Promise.all(SERVICE_NAMES.map((n) => SERVICES[n].check(ctx)));
      if (problems.every((p) => p === undefined)) {
        const env = await writeEnvFile(ctx);
        ctx.log(`already running and healthy (${seconds(t0)})`);
        return env;
      }
    }
    await Deno.mkdir(ctx.paths.logs.root, { recursive: true });
    await bringUp(ctx, SERVICE_NAMES, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const env = await writeEnvFile(ctx);
    ctx.log(`up in ${seconds(t0)}; env in ${displayPath(ctx.paths, ctx.paths.envFile)}`);
    return env;
  });
}

/** Stops all three services (gracefully, then forcefully) and waits until they are gone. */
export async function stackDown(opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts, false);
  const t0 = performance.now();
  await locked(ctx, async () => {
    await forEach(SERVICE_NAMES, async (service) => {
      const t1 = performance.now();
      const outcome = await service.stop(ctx);
      if (outcome !== "not-running") ctx.log(`${service.name}: ${outcome} (${seconds(t1)})`);
    });
    await clusterDown(ctx);
    await removeIfExists(ctx.paths.envFile);
  });
  ctx.log(`down in ${seconds(t0)}`);
}

/** Reports each service: running or not, pid, address, log file. */
export async function stackStatus(opts: StackOptions = {}): Promise<ServiceStatus[]> {
  const ctx = stackContext(opts, false);
  return await Promise.all(SERVICE_NAMES.map((n) => SERVICES[n].status(ctx)));
}

/** Returns the env map of the running stack (contains secrets); fails if a service is stopped. */
export async function stackEnv(opts: StackOptions = {}): Promise<Record<string, string>> {
  return await envOf(stackContext(opts, false));
}

/** Stops one service (for fault tests) and waits until its process is gone. */
export async function stopService(name: ServiceName, opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts, false);
  const t0 = performance.now();
  const outcome = await locked(ctx, () => SERVICES[name].stop(ctx));
  ctx.log(`${name}: ${outcome === "not-running" ? "was not running" : outcome} (${seconds(t0)})`);
}

/** Starts one service (installing it if needed) and waits until it is healthy. */
export async function startService(name: ServiceName, opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts);
  await locked(ctx, async () => {
    await bringUp(ctx, [name], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    await writeEnvFile(ctx).catch(() => {}); // only when all three run
  });
}

/** Stops then starts one service, waiting until it is healthy again. */
export async function restartService(name: ServiceName, opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts);
  await locked(ctx, async () => {
    const outcome = await SERVICES[name].stop(ctx);
    if (outcome !== "not-running") ctx.log(`${name}: ${outcome}`);
    await bringUp(ctx, [name], opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    await writeEnvFile(ctx).catch(() => {});
  });
}

/**
 * Brings the whole stack up (idempotent) plus the local 3-broker Kafka cluster, and returns
 * the app's env map with `KAFKA_BROKERS` listing the three cluster brokers. The single-broker
 * default keeps running for everything else.
 */
export async function clusterStackUp(opts: StackOptions = {}): Promise<Record<string, string>> {
  const env = await stackUp(opts);
  const ctx = stackContext(opts);
  const vars = opts.env ?? Deno.env.toObject();
  await locked(ctx, () => clusterUp(ctx, vars, opts.timeoutMs ?? 180_000));
  return { ...env, KAFKA_BROKERS: clusterBrokers(vars) };
}

/** The env map with the cluster's brokers in `KAFKA_BROKERS` (fails if a service is stopped). */
export async function clusterEnv(opts: StackOptions = {}): Promise<Record<string, string>> {
  const env = await stackEnv(opts);
  return { ...env, KAFKA_BROKERS: clusterBrokers(opts.env ?? Deno.env.toObject()) };
}

/** Status of the three cluster nodes. */
export async function clusterNodeStatus(opts: StackOptions = {}): Promise<ClusterNodeStatus[]> {
  return await clusterStatus(stackContext(opts, false), opts.env ?? Deno.env.toObject());
}

/** Stops cluster node `id` (1-3): gracefully, or with `kill` by SIGKILL like a crash. */
export async function stopClusterNode(
  id: number,
  opts: StackOptions & { kill?: boolean } = {},
): Promise<void> {
  const ctx = stackContext(opts, false);
  const t0 = performance.now();
  const outcome = await locked(ctx, () => stopNode(ctx, id, { kill: opts.kill }));
  ctx.log(
    `kafka-${id}: ${outcome === "not-running" ? "was not running" : outcome} (${seconds(t0)})`,
  );
}

/** Starts cluster node `id` and waits until the cluster lists it. */
export async function startClusterNode(id: number, opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts);
  await locked(ctx, () => restartNode(ctx, opts.env ?? Deno.env.toObject(), id, opts.timeoutMs));
}

/** Stops the three cluster nodes (at once) and leaves the rest of the stack running. */
export async function stopCluster(opts: StackOptions = {}): Promise<void> {
  const ctx = stackContext(opts, false);
  await locked(ctx, () => clusterDown(ctx));
}
