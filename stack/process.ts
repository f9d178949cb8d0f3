/**
 * Detached service processes: started in their own session with output appended to a log file,
 * tracked by pid files and recognised by their command line (so a reused pid is never killed).
 *
 * @module
 */
import { dirname } from "node:path";
import { StackError } from "./errors.ts";
import { waitUntil } from "./wait.ts";

/** Options for `spawnDetached`. */
export interface DetachedOptions {
  /** Program to run (exec'd, so the returned pid is the program itself). */
  command: string;
  /** Its arguments. */
  args: string[];
  /** stdout and stderr are appended here. */
  logFile: string;
  /** Working directory. Default: the current one. */
  cwd?: string;
  /** Extra environment variables. Default: none. */
  env?: Record<string, string>;
}

/**
 * Starts a program in a new session (its own process group, no terminal), appending its output
 * to `logFile`, and resolves to its pid once the pid is the program's (`sh` has exec'd it) or
 * the process has ended. It keeps running after this process exits.
 */
export async function spawnDetached(opts: DetachedOptions): Promise<number> {
  const child = new Deno.Command("sh", {
    // `exec` replaces the shell, so the pid we record is the service itself.
    args: ["-c", 'exec "$@" >>"$0" 2>&1 </dev/null', opts.logFile, opts.command, ...opts.args],
    cwd: opts.cwd,
    env: opts.env,
    detached: true,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  child.unref();
  // Reap it if it exits while we are still running, without keeping us alive.
  child.status.catch(() => {});
  // Until the exec is done the command line is the shell's, or empty while the kernel swaps
  // images (about 1 read in 25 right after the spawn): a check of it then would take the new
  // service for one that exited during start-up.
  await waitUntil(async () => {
    if (await processState(child.pid) !== "alive") return true;
    const argv0 = (await processCmdline(child.pid))?.split(" ")[0];
    return argv0 === opts.command;
  }, { timeoutMs: 5000, intervalMs: 5 });
  return child.pid;
}

/** The kernel's view of a pid: running (or sleeping), a zombie awaiting its parent, or gone. */
export type ProcessState = "alive" | "zombie" | "gone";

/** Reads the state of `pid` from /proc. */
export async function processState(pid: number): Promise<ProcessState> {
  try {
    const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X" ? "zombie" : "alive";
  } catch {
    return "gone";
  }
}

/** Returns the command line of `pid` (arguments joined by spaces), or undefined if it is gone. */
export async function processCmdline(pid: number): Promise<string | undefined> {
  try {
    const raw = await Deno.readFile(`/proc/${pid}/cmdline`);
    return new TextDecoder().decode(raw).split("\0").join(" ").trim();
  } catch {
    return undefined;
  }
}

/** True when `pid` is alive and its command line contains every one of `markers`. */
export async function isOurProcess(pid: number, markers: string[]): Promise<boolean> {
  if (await processState(pid) !== "alive") return false;
  const cmdline = await processCmdline(pid);
  return cmdline !== undefined && markers.every((m) => cmdline.includes(m));
}

/** Reads a pid file; undefined when it is missing or does not hold a pid. */
export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const text = (await Deno.readTextFile(file)).trim().split("\n")[0] ?? "";
    const pid = Number(text.trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Writes `pid` to `file`, creating its folder. */
export async function writePidFile(file: string, pid: number): Promise<void> {
  await Deno.mkdir(dirname(file), { recursive: true });
  await Deno.writeTextFile(file, `${pid}\n`);
}

/** Removes a file if it exists. */
export async function removeIfExists(file: string): Promise<void> {
  try {
    await Deno.remove(file);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
}

/** Options for `terminateProcess`. */
export interface TerminateOptions {
  /** The command line must contain these, or the pid is left alone (pid reuse). */
  markers: string[];
  /** How long to wait after SIGTERM before SIGKILL, in ms. Default 30 000. */
  graceMs?: number;
  /** How long to wait after SIGKILL, in ms. Default 10 000. */
  killWaitMs?: number;
}

/**
 * Stops a service process: SIGTERM, wait up to `graceMs`, then SIGKILL, and waits until the
 * pid is gone. Returns what happened; fails only if the process outlives SIGKILL.
 */
export async function terminateProcess(
  pid: number,
  opts: TerminateOptions,
): Promise<"not-running" | "stopped" | "killed"> {
  if (!await isOurProcess(pid, opts.markers)) return "not-running";
  const gone = async () => await processState(pid) !== "alive";
  signal(pid, "SIGTERM");
  if (await waitUntil(gone, { timeoutMs: opts.graceMs ?? 30_000, intervalMs: 100 })) {
    return "stopped";
  }
  signal(pid, "SIGKILL");
  if (await waitUntil(gone, { timeoutMs: opts.killWaitMs ?? 10_000, intervalMs: 100 })) {
    return "killed";
  }
  throw new StackError(
    `Cannot stop process ${pid}: current value is still alive after SIGKILL; ` +
      `fix: check \`ps -o pid,stat,cmd -p ${pid}\` (a process stuck in the kernel)`,
  );
}

function signal(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // Already gone (ESRCH) or not ours to signal (EPERM): the caller's wait decides.
  }
}

/** Finds live processes whose command line contains every one of `markers` (scans /proc). */
export async function findProcesses(markers: string[]): Promise<number[]> {
  const found: number[] = [];
  for await (const entry of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    if (pid === Deno.pid) continue;
    if (await isOurProcess(pid, markers)) found.push(pid);
  }
  return found.sort((a, b) => a - b);
}
