/**
 * Spawning `bench/child.ts` and watching its stdout lines.
 *
 * @module
 */
import { forEachLine, LineWaiters } from "../tests/fixtures/child_lines.ts";
import { cpuSeconds, RssSampler } from "./rss.ts";

const CHILD = new URL("./child.ts", import.meta.url).pathname;
const CONFIG = new URL("../deno.json", import.meta.url).pathname;

/** A running child module. */
export interface Child {
  pid: number;
  rss: RssSampler;
  /**
   * Resolves with the first stdout line starting with `prefix` (after now; `prefix` is a
   * word such as `READY` or `DONE `, taken as the start of a RegExp).
   */
  waitFor(prefix: string, timeoutMs: number): Promise<string>;
  /** Latest stdout line starting with `prefix`, if any. */
  last(prefix: string): string | undefined;
  /** CPU seconds (user + system) the child used so far (`/proc/<pid>/stat`), if readable. */
  cpu(): number | undefined;
  /**
   * Waits for `READY <client>` and checks the child runs the Kafka client `expected`
   * (`NEXUS_KAFKA_CLIENT` of its env).
   */
  ready(expected: string, timeoutMs?: number): Promise<void>;
  /** Peak RSS the child reported itself (`RSS <MB>` line), if any. */
  reportedRssMb(): number | undefined;
  kill(signal: Deno.Signal): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it exited. */
  stop(graceMs?: number): Promise<Deno.CommandStatus>;
  exited: Promise<Deno.CommandStatus>;
}

/** Options of `spawnChild`. */
export interface SpawnOptions {
  /** Extra env on top of the current process's. */
  env: Record<string, string>;
  /** Write a V8 CPU profile into this folder (`deno run --cpu-prof`). */
  cpuProfDir?: string;
  /** Extra `deno run` flags, e.g. `--v8-flags=--max-old-space-size=128`. */
  denoFlags?: string[];
  /** Child stderr goes here (appended). */
  logFile: string;
}

/** Spawns `deno run -A bench/child.ts <mode>`. */
export function spawnChild(mode: string, o: SpawnOptions): Child {
  const prof = o.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${o.cpuProfDir}`] : [];
  const log = Deno.openSync(o.logFile, { append: true, create: true });
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--config", CONFIG, ...prof, ...(o.denoFlags ?? []), CHILD, mode],
    env: o.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const rss = new RssSampler(proc.pid);
  const lastBy = new Map<string, string>();
  const lines: string[] = [];
  void (async () => {
    for await (const chunk of proc.stderr) log.writeSync(chunk);
    log.close();
  })();
  // lines arrive asynchronously, once `waiters` below exists
  const reading = forEachLine(proc.stdout, (line) => {
    lines.push(line);
    if (lines.length > 50) lines.shift();
    lastBy.set(line.split(" ")[0] ?? "", line);
    waiters.offer(line);
  });
  const exited = proc.status.then(async (s) => {
    await reading.catch(() => {});
    rss.stop();
    return s;
  });
  const waiters = new LineWaiters({
    name: `child ${mode}`,
    exited,
    context: (s) =>
      ` (exit code ${s.code}); see ${o.logFile}; last lines: ${lines.slice(-3).join(" | ")}`,
  });
  const child: Child = {
    pid: proc.pid,
    rss,
    exited,
    waitFor: (prefix, timeoutMs) => waiters.next(new RegExp(`^${prefix}`), timeoutMs),
    last: (prefix) => lastBy.get(prefix),
    cpu: () => cpuSeconds(proc.pid),
    async ready(expected, timeoutMs = 120_000) {
      const line = await child.waitFor("READY", timeoutMs);
      const got = line.split(" ")[1];
      if (got !== expected) {
        throw new Error(`child ${mode} runs Kafka client "${got}", expected "${expected}"`);
      }
    },
    reportedRssMb() {
      const l = lastBy.get("RSS");
      const n = l ? Number(l.split(" ")[1]) : NaN;
      return Number.isFinite(n) ? n : undefined;
    },
    kill(signal) {
      try {
        proc.kill(signal);
      } catch { /* gone */ }
    },
    async stop(graceMs = 20_000) {
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const s = await exited;
      clearTimeout(t);
      return s;
    },
  };
  return child;
}
