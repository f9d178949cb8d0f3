/**
 * The machine and the versions a run used.
 *
 * @module
 */
import { KAFKA_VERSION, SEAWEEDFS_VERSION } from "../stack/paths.ts";
import { createSql } from "../src/postgres/mod.ts";
import type { Config } from "../src/config/mod.ts";
import { javaVersion } from "./perf_tools.ts";
import { clientLibrary } from "./kafka.ts";

/** CPU model, cores, memory, OS, load. */
export function machineInfo() {
  let cpuModel = "unknown";
  try {
    cpuModel = /model name\s*:\s*(.+)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1]?.trim() ??
      "unknown";
  } catch { /* not Linux */ }
  return {
    cpuModel,
    cores: navigator.hardwareConcurrency,
    memoryGb: Deno.systemMemoryInfo().total / 1024 ** 3,
    os: `${Deno.build.os} ${Deno.osRelease()}`,
    loadAvg: Deno.loadavg(),
  };
}

/** Versions of Deno, the services and the clients. */
export async function versions(config: Config): Promise<Record<string, string>> {
  let pg = "unknown";
  const sql = createSql(config, { max: 1 });
  try {
    const r = await sql<{ v: string }[]>`select current_setting('server_version') as v`;
    pg = r[0]?.v ?? pg;
  } catch {
    /* reported as unknown */
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
  // "kafkajs 2.2.4", "@platformatic/kafka 2.12.1": the libraries behind the port's adapters
  const libs = (["platformatic", "kafkajs"] as const).map((c) => {
    const lib = clientLibrary(config, c);
    const i = lib.lastIndexOf(" ");
    return [lib.slice(0, i), lib.slice(i + 1)] as const;
  });
  return {
    Deno: Deno.version.deno,
    V8: Deno.version.v8,
    Kafka: KAFKA_VERSION,
    ...Object.fromEntries(libs),
    "postgres.js": "3.4.9",
    PostgreSQL: pg,
    SeaweedFS: SEAWEEDFS_VERSION,
    "@aws-sdk/lib-storage": "3.1175.0",
    Java: (await javaVersion()).replace(/^openjdk version /, "OpenJDK ").replace(/"/g, ""),
  };
}
