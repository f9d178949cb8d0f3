/**
 * Peak resident memory of a process from `/proc/<pid>/status` (Linux): `VmHWM` is the kernel's
 * own high-water mark of the resident set, so one read just before the process ends gives its
 * peak; `RssSampler` also samples `VmRSS` as a cross-check.
 *
 * @module
 */

/** Values of `/proc/<pid>/status` lines in kB (`VmHWM`, `VmRSS`, ...). */
export function parseStatus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const m = /^(\w+):\s+(\d+) kB$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Peak RSS (VmHWM) of `pid` in MB, or undefined when the process is gone / not Linux. */
export function peakRssMb(pid: number | "self"): number | undefined {
  try {
    const kb = parseStatus(Deno.readTextFileSync(`/proc/${pid}/status`)).VmHWM;
    return kb === undefined ? undefined : kb / 1024;
  } catch {
    return undefined;
  }
}

/** Samples a child's VmHWM/VmRSS every `everyMs` until stopped; keeps the maxima. */
export class RssSampler {
  peakMb = 0;
  maxRssMb = 0;
  #timer: ReturnType<typeof setInterval>;
  constructor(readonly pid: number, everyMs = 200) {
    this.#timer = setInterval(() => this.sample(), everyMs);
  }
  sample(): void {
    try {
      const s = parseStatus(Deno.readTextFileSync(`/proc/${this.pid}/status`));
      if (s.VmHWM !== undefined) this.peakMb = Math.max(this.peakMb, s.VmHWM / 1024);
      if (s.VmRSS !== undefined) this.maxRssMb = Math.max(this.maxRssMb, s.VmRSS / 1024);
    } catch { /* exited */ }
  }
  stop(): number {
    this.sample();
    clearInterval(this.#timer);
    return this.peakMb;
  }
}

let ticks: number | undefined;

/** Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 if unknown). */
export function clockTicks(): number {
  if (ticks === undefined) {
    ticks = 100;
    try {
      const out = new Deno.Command("getconf", {
        args: ["CLK_TCK"],
        stdout: "piped",
        stderr: "null",
      })
        .outputSync();
      const n = Number(new TextDecoder().decode(out.stdout).trim());
      if (out.success && Number.isSafeInteger(n) && n > 0) ticks = n;
    } catch { /* no getconf: the Linux default */ }
  }
  return ticks;
}

/** utime + stime (fields 14 and 15, in clock ticks) of a `/proc/<pid>/stat` line. */
export function parseStatTicks(stat: string): number | undefined {
  // fields after the parenthesised command name (which may hold spaces and parentheses)
  const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const t = Number(rest[11]) + Number(rest[12]);
  return Number.isFinite(t) ? t : undefined;
}

/**
 * CPU seconds (user + system, every thread) used so far by `pid` (or this process), from
 * `/proc/<pid>/stat`; undefined when the process is gone or this is not Linux.
 */
export function cpuSeconds(pid: number | "self"): number | undefined {
  try {
    const t = parseStatTicks(Deno.readTextFileSync(`/proc/${pid}/stat`));
    return t === undefined ? undefined : t / clockTicks();
  } catch {
    return undefined;
  }
}

/** CPU seconds per million records, or undefined when either figure is missing. */
export function perMillion(cpu: number | undefined, records: number): number | undefined {
  return cpu === undefined || !Number.isFinite(cpu) || records <= 0
    ? undefined
    : cpu / (records / 1e6);
}
