/**
 * Run records: what a started service listens on, kept beside its pid file in `.nexus/run/`
 * so `status` and `env` describe the stack as it runs, even if the environment changed since.
 *
 * @module
 */
import { join } from "node:path";
import type { ServiceName } from "./errors.ts";
import type { StackPaths } from "./paths.ts";
import {
  findProcesses,
  isOurProcess,
  readPidFile,
  removeIfExists,
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
