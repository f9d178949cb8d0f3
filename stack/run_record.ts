/**
 * Run records: what a started service listens on, kept beside its pid file in `.nexus/run/`
 * so `status` and `env` describe the stack as it runs, even if the environment changed since.
 *
 * @module
 */
import { join } from "node:path";
import type { ServiceName } from "./errors.ts";
import type { StackPaths } from "./paths.ts";
import type { ServiceStatus } from "./service.ts";
import {
  findProcesses,
  isOurProcess,
  readPidFile,
  removeIfExists,
  terminateProcess,
  writePidFile,
} from "./process.ts";

/** What was started. */
export interface RunRecord {
  pid: number;
  /** The client port (Kafka, PostgreSQL or S3). */
  port: number;
  /** Every port it listens on, client port first. */
  ports: number[];
  startedAt: string;
}

/** `.nexus/run/<name>.pid`. */
export function pidFile(paths: StackPaths, name: ServiceName): string {
  return join(paths.run.root, `${name}.pid`);
}

function recordFile(paths: StackPaths, name: ServiceName): string {
  return join(paths.run.root, `${name}.json`);
}

/** Reads a service's run record; undefined when there is none or it is unreadable. */
export async function readRunRecord(
  paths: StackPaths,
  name: ServiceName,
): Promise<RunRecord | undefined> {
  try {
    const r = JSON.parse(await Deno.readTextFile(recordFile(paths, name))) as RunRecord;
    if (!Number.isInteger(r.port) || !Array.isArray(r.ports)) return undefined;
    const pid = await readPidFile(pidFile(paths, name));
    return pid === undefined ? r : { ...r, pid };
  } catch {
    return undefined;
  }
}

/** Writes the pid file and run record of a just-started service. */
export async function writeRunRecord(
  paths: StackPaths,
  name: ServiceName,
  record: Omit<RunRecord, "startedAt">,
): Promise<void> {
  await writePidFile(pidFile(paths, name), record.pid);
  const full: RunRecord = { ...record, startedAt: new Date().toISOString() };
  await Deno.writeTextFile(recordFile(paths, name), JSON.stringify(full) + "\n");
}

/** Removes the pid file and run record of a stopped service. */
export async function removeRunRecord(paths: StackPaths, name: ServiceName): Promise<void> {
  await removeIfExists(pidFile(paths, name));
  await removeIfExists(recordFile(paths, name));
}

/** True when two port lists differ. */
export function portsDiffer(a: number[], b: number[]): boolean {
  return a.length !== b.length || a.some((p, i) => p !== b[i]);
}

/**
 * Returns the pid of a running service: the one in its pid file if that process matches
 * `markers`, else any process matching them (a lost pid file), else undefined.
 */
export async function runningPid(
  paths: StackPaths,
  name: ServiceName,
  markers: string[],
): Promise<number | undefined> {
  const pid = await readPidFile(pidFile(paths, name));
  if (pid !== undefined && await isOurProcess(pid, markers)) return pid;
  return (await findProcesses(markers))[0];
}

/**
 * Stops every running process of the service `name` (SIGTERM, SIGKILL after `graceMs`; more
 * than one only if a second was started by hand with our configuration) and removes its run
 * record. Resolves to what happened to the last one stopped.
 */
export async function stopService(
  paths: StackPaths,
  name: ServiceName,
  markers: string[],
  graceMs = 30_000,
): Promise<"not-running" | "stopped" | "killed"> {
  let outcome: "not-running" | "stopped" | "killed" = "not-running";
  for (let round = 0; round < 5; round++) {
    const pid = await runningPid(paths, name, markers);
    if (pid === undefined) break;
    const r = await terminateProcess(pid, { markers, graceMs });
    if (r !== "not-running") outcome = r;
  }
  await removeRunRecord(paths, name);
  return outcome;
}

/** What `serviceStatus` needs to know of a service beyond its run record. */
export interface StatusOptions {
  /** The port the environment asks for (reported while it is not running). */
  port: number;
  /** Every port the environment asks for, to tell whether a running one differs. */
  wanted: number[];
  /** Where clients connect for a port, e.g. `127.0.0.1:19092`. */
  address(port: number): string;
  logFile: string;
}

/**
 * The status of service `name` whose process is `pid` (undefined: not running): while it runs,
 * the port from its run record and whether its ports differ from the wanted ones.
 */
export async function serviceStatus(
  paths: StackPaths,
  name: ServiceName,
  pid: number | undefined,
  opts: StatusOptions,
): Promise<ServiceStatus> {
  const record = await readRunRecord(paths, name);
  const running = pid !== undefined;
  const port = running && record ? record.port : opts.port;
  return {
    name,
    running,
    pid,
    address: opts.address(port),
    port,
    portsDiffer: running && record !== undefined && portsDiffer(record.ports, opts.wanted),
    logFile: opts.logFile,
  };
}
