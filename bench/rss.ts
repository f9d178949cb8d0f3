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

/** CPU seconds (user + system) used so far by `pid`, from `/proc/<pid>/stat` (100 ticks/s). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // fields after the parenthesised command name; utime and stime are fields 14 and 15
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return undefined;
  }
}
