/**
 * Live status in the terminal. On a TTY (stderr): a compact block of at most 80 columns that
 * is redrawn in place once a second (cursor up, clear, redraw the same number of lines), so
 * the screen never scrolls because of it; log lines are printed above the block. Not a TTY:
 * one plain log line every 10 s. A module with faulted partitions (`ModuleStatus.faults`) is
 * marked FAULT and gets one more line naming the partitions and the first error.
 *
 * `renderStatus` is the pure renderer: fixed line count, every line ≤ the width.
 *
 * @module
 */
import { configureLogging, type Logger } from "../log/logger.ts";
import type { RunningModule } from "../runtime/module.ts";
import type { PartitionLag } from "./lag.ts";
import { moduleState } from "./module_state.ts";

/** What one line of the status shows about a module. */
export interface TermRow {
  name: string;
  state: string;
  /** Events per second over the last interval, null before the second sample. */
  rate: number | null;
  lag: number | null;
  /** Lowest partition watermark (epoch ms). */
  watermark: number | null;
  lastFlushAt: number | null;
  dead: number | null;
  late: number | null;
  /** Faulted partitions (cannot go on; `run` exits after NEXUS_FAULT_EXIT_MS). */
  faults?: { partition: number; reason: string }[];
}

/** Most columns the status ever uses. */
export const MAX_WIDTH = 80;

/** 1234 → "1234", 12345 → "12.3k", 1234567 → "1.23M" (at most 6 characters). */
export function compact(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "-";
  const a = Math.abs(n);
  const sign = n < 0 ? "-" : "";
  if (a < 10_000) return sign + (Number.isInteger(a) ? String(a) : a.toFixed(a < 10 ? 1 : 0));
  for (const [d, u] of [[1e3, "k"], [1e6, "M"], [1e9, "G"], [1e12, "T"]] as const) {
    const v = a / d;
    if (v < 1000) return sign + (v < 100 ? v.toFixed(1) : v.toFixed(0)) + u;
  }
  return sign + "huge";
}

/** Age as "0.4s", "12s", "5m", "3h", "2d". */
export function age(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 60_000) return `${Math.floor(ms / 1000)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  if (ms < 86_400_000) return `${Math.floor(ms / 3_600_000)}h`;
  return `${Math.min(999, Math.floor(ms / 86_400_000))}d`;
}

/** A watermark as "HH:MM:SS" (same UTC day as now) or "MM-DD HH:MM". */
export function clock(epochMs: number | null, now: number): string {
  if (epochMs === null || !Number.isFinite(epochMs)) return "-";
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return "-";
  const iso = d.toISOString();
  return iso.slice(0, 10) === new Date(now).toISOString().slice(0, 10)
    ? iso.slice(11, 19)
    : `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
}

function cell(s: string, w: number, left = false): string {
  const t = s.length > w ? s.slice(0, w) : s;
  return left ? t.padEnd(w) : t.padStart(w);
}

/** Lines `renderStatus` draws for `rows` (before padding): header, modules, fault lines. */
export function blockLines(rows: TermRow[]): number {
  return 1 + Math.max(1, rows.length) + rows.filter((r) => r.faults?.length).length;
}

/**
 * Renders the status block: one header line and one line per module (or a placeholder), then
 * one line per module with faulted partitions (`! archiver p0,2: <first error>`), padded to
 * `lines` lines when given. Every line is at most `min(width, 80)` characters.
 */
export function renderStatus(
  rows: TermRow[],
  opts: { now: number; width?: number; lines?: number },
): string[] {
  const width = Math.max(1, Math.min(MAX_WIDTH, Math.floor(opts.width ?? MAX_WIDTH)));
  const cols = (c: string[]) =>
    [cell(c[0]!, 17, true), ...c.slice(1).map((x, i) => cell(x, [8, 8, 11, 6, 7, 7][i]!))].join(
      " ",
    ).trimEnd();
  const out = [cols(["module", "ev/s", "lag", "watermark", "flush", "dead", "late"])];
  for (const r of rows) {
    // "aggregator FAILED" fits the 17-column module cell, and so does "aggregator FAULT".
    const mark = r.state === "finished"
      ? " done"
      : r.state !== "running"
      ? " FAILED"
      : r.faults?.length
      ? " FAULT"
      : "";
    const name = `${r.name.slice(0, 17 - mark.length)}${mark}`;
    out.push(cols([
      name,
      compact(r.rate === null ? null : Math.round(r.rate)),
      compact(r.lag),
      clock(r.watermark, opts.now),
      r.lastFlushAt === null ? "-" : age(opts.now - r.lastFlushAt),
      compact(r.dead),
      compact(r.late),
    ]));
  }
  if (rows.length === 0) out.push("(no module running yet)");
  for (const r of rows) {
    const f = r.faults;
    if (!f?.length) continue;
    const sorted = [...f].sort((a, b) => a.partition - b.partition);
    out.push(`! ${r.name} p${sorted.map((x) => x.partition).join(",")}: ${sorted[0]!.reason}`);
  }
  const fixed = opts.lines ?? out.length;
  while (out.length < fixed) out.push("");
  // Control characters in names would move the cursor: replace them.
  // deno-lint-ignore no-control-regex
  return out.slice(0, fixed).map((l) => l.replace(/[\x00-\x1f\x7f]/g, "?").slice(0, width));
}

/** Keeps the previous counts to compute rates. */
export class RateTracker {
  #prev = new Map<string, { at: number; n: number }>();
  /** Events/s of `key` since the last call, null on the first. */
  rate(key: string, n: number, now: number): number | null {
    const p = this.#prev.get(key);
    this.#prev.set(key, { at: now, n });
    if (!p || now <= p.at) return null;
    return Math.max(0, ((n - p.n) * 1000) / (now - p.at));
  }
}

/** Builds the rows from the modules' status and an optional lag report. */
export function statusRows(
  modules: RunningModule[],
  rates: RateTracker,
  now: number,
  lag?: PartitionLag[],
): TermRow[] {
  return modules.map((m) => {
    const s = m.status();
    const parts = Object.values(s.partitions ?? {});
    const wms = parts.map((p) => p.watermark).filter((x): x is number => x !== undefined);
    const ownLag = parts.map((p) => p.lag).filter((x): x is number => x !== undefined);
    const reported = lag?.filter((r) => r.module === m.name);
    return {
      name: m.name,
      state: moduleState(m).state,
      rate: rates.rate(m.name, m.name === "generator" ? s.eventsOut : s.eventsIn, now),
      lag: reported?.length
        ? reported.reduce((a, r) => a + r.lag, 0)
        : ownLag.length
        ? ownLag.reduce((a, b) => a + b, 0)
        : null,
      watermark: wms.length ? Math.min(...wms) : null,
      lastFlushAt: s.lastFlushAt ?? null,
      dead: s.deadLettered ?? null,
      late: s.late ?? null,
      ...(s.faults?.length
        ? { faults: s.faults.map((f) => ({ partition: f.partition, reason: f.reason })) }
        : {}),
    };
  });
}

/** Options of `startTerminalStatus`. */
export interface TerminalOptions {
  log: Logger;
  modules: () => RunningModule[];
  /** Lag report source (cached by the caller); optional. */
  lag?: () => Promise<PartitionLag[]>;
  /** Where the block goes; default stderr (where logs go). */
  out?: { writeSync(b: Uint8Array): number; isTerminal(): boolean };
  /** Force TTY or plain mode; default `out.isTerminal()`. */
  tty?: boolean;
  /** Redraw interval on a TTY, ms. Default 1000. */
  intervalMs?: number;
  /** Plain-mode log interval, ms. Default 10000. */
  logIntervalMs?: number;
  /** Terminal width; default the console's (capped at 80). */
  columns?: () => number;
}

/** Starts the live status; `stop()` draws it one last time and restores logging. */
export function startTerminalStatus(opts: TerminalOptions): { stop(): void } {
  const out = opts.out ?? Deno.stderr;
  const tty = opts.tty ?? out.isTerminal();
  const rates = new RateTracker();
  const enc = new TextEncoder();
  const write = (s: string) => {
    const b = enc.encode(s);
    let off = 0;
    while (off < b.length) off += out.writeSync(b.subarray(off));
  };
  let lastLag: PartitionLag[] | undefined;
  let lagBusy = false;
  const refreshLag = () => {
    if (!opts.lag || lagBusy) return;
    lagBusy = true;
    opts.lag().then((l) => (lastLag = l), () => (lastLag = undefined)).finally(() =>
      lagBusy = false
    );
  };

  if (!tty) {
    const tick = () => {
      refreshLag();
      const now = Date.now();
      const rows = statusRows(opts.modules(), rates, now, lastLag);
      const fields: Record<string, string> = {};
      for (const r of rows) {
        fields[r.name] = `state=${r.state} ev/s=${compact(r.rate && Math.round(r.rate))} lag=${
          compact(r.lag)
        } watermark=${r.watermark === null ? "-" : new Date(r.watermark).toISOString()} flush=${
          r.lastFlushAt === null ? "-" : age(now - r.lastFlushAt)
        } dead=${compact(r.dead)} late=${compact(r.late)}${
          r.faults?.length
            ? ` faulted=${
              r.faults.map((f) => f.partition).sort((a, b) => a - b).join(",")
            } fault: ${r.faults[0]!.reason}`
            : ""
        }`;
      }
      if (rows.length) opts.log.info("status", fields);
    };
    const timer = setInterval(tick, opts.logIntervalMs ?? 10_000);
    return { stop: () => clearInterval(timer) };
  }

  const columns = opts.columns ?? (() => {
    try {
      return Deno.consoleSize().columns;
    } catch {
      return MAX_WIDTH;
    }
  });
  let height = 0; // lines of the block currently on screen (cursor sits just below it)
  let lines = 0; // fixed block height: grows with the module count, never shrinks
  const draw = () => {
    const now = Date.now();
    const rows = statusRows(opts.modules(), rates, now, lastLag);
    lines = Math.max(lines, blockLines(rows));
    const block = renderStatus(rows, { now, width: columns(), lines });
    let s = height ? `\x1b[${height}A` : "";
    for (const l of block) s += `\r\x1b[2K${l}\n`;
    write(s);
    height = block.length;
  };
  // Erases the block line by line and returns to its first line. (Not "erase to end of
  // screen": some terminals, tmux among them, push the whole screen into the scrollback
  // when that is done from the top-left corner.)
  const clear = () => {
    if (height) write(`\x1b[${height}A` + "\r\x1b[2K\n".repeat(height) + `\x1b[${height}A`);
    height = 0;
  };
  write("\x1b[?25l");
  configureLogging({
    write: (line) => {
      clear();
      write(line + "\n");
      draw();
    },
  });
  draw();
  const timer = setInterval(() => {
    refreshLag();
    draw();
  }, opts.intervalMs ?? 1000);
  return {
    stop() {
      clearInterval(timer);
      configureLogging({ write: undefined });
      draw();
      write("\x1b[?25h");
    },
  };
}
