import assert from "node:assert/strict";
import fc from "fast-check";
import type { RunningModule } from "../runtime/module.ts";
import {
  age,
  blockLines,
  clock,
  compact,
  RateTracker,
  renderStatus,
  startTerminalStatus,
  statusRows,
  type TermRow,
} from "./terminal.ts";
import { createLogger } from "../log/logger.ts";

const row = (over: Partial<TermRow> = {}): TermRow => ({
  name: "aggregator",
  state: "running",
  rate: 1234.5,
  lag: 42,
  watermark: Date.UTC(2026, 0, 1, 12, 30, 5),
  lastFlushAt: Date.UTC(2026, 0, 1, 12, 30, 0),
  dead: 3,
  late: 7,
  ...over,
});

Deno.test("terminal: renders a readable block within 80 columns", () => {
  const now = Date.UTC(2026, 0, 1, 12, 30, 10);
  const lines = renderStatus([row(), row({ name: "archiver", lag: 0, late: null })], { now });
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^module\s+ev\/s\s+lag\s+watermark\s+flush\s+dead\s+late$/);
  assert.match(lines[1]!, /^aggregator\s+1235\s+42\s+12:30:05\s+10s\s+3\s+7$/);
  assert.match(lines[2]!, /archiver .* -$/);
  const ended = renderStatus([row({ name: "generator", state: "finished" })], { now });
  assert.match(ended[1]!, /^generator done\s+1235/);
  const failed = renderStatus([row({ state: "failed" })], { now });
  assert.match(failed[1]!, /^aggregator FAILED\s/);
  for (const l of lines) assert.ok(l.length <= 80);
});

Deno.test("terminal: any input gives a fixed line count and lines no wider than the width", () => {
  const num = fc.option(fc.oneof(fc.double(), fc.integer(), fc.constant(Number.MAX_VALUE)), {
    nil: null,
  });
  const arbRow = fc.record({
    name: fc.string({ maxLength: 40 }),
    state: fc.constantFrom("running", "finished", "failed"),
    rate: num,
    lag: num,
    watermark: num,
    lastFlushAt: num,
    dead: num,
    late: num,
    faults: fc.option(
      fc.array(fc.record({ partition: fc.nat(), reason: fc.string({ maxLength: 200 }) }), {
        maxLength: 3,
      }),
      { nil: undefined },
    ),
  });
  fc.assert(
    fc.property(
      fc.array(arbRow, { maxLength: 6 }),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 4e12 }),
      fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
      (rows, width, now, lines) => {
        const out = renderStatus(rows, { now, width, lines });
        assert.equal(out.length, lines ?? blockLines(rows));
        for (const l of out) {
          assert.ok(l.length <= Math.min(width, 80), `${l.length} > ${width}`);
          // deno-lint-ignore no-control-regex
          assert.ok(!/[\x00-\x1f]/.test(l), "control character");
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("terminal: compact numbers, ages and clocks", () => {
  assert.equal(compact(999), "999");
  assert.equal(compact(12345), "12.3k");
  assert.equal(compact(1_234_567), "1.2M");
  assert.equal(compact(null), "-");
  assert.equal(age(400), "0.4s");
  assert.equal(age(125_000), "2m");
  const now = Date.UTC(2026, 0, 2, 0, 0, 0);
  assert.equal(clock(Date.UTC(2026, 0, 2, 0, 0, 1), now), "00:00:01");
  assert.equal(clock(Date.UTC(2026, 0, 1, 23, 59, 0), now), "01-01 23:59");
});

function fakeModule(name: "aggregator" | "generator", state: { n: number }): RunningModule {
  return {
    name,
    done: new Promise(() => {}),
    stop: () => Promise.resolve(),
    status: () => ({
      eventsIn: state.n,
      eventsOut: state.n,
      deadLettered: 1,
      late: 2,
      lastFlushAt: Date.now(),
      partitions: { 0: { lag: 5, watermark: 1000 }, 1: { lag: 6, watermark: 500 } },
    }),
  };
}

Deno.test("terminal: rows from module status: rate, summed lag, lowest watermark", () => {
  const s = { n: 0 };
  const mods = [fakeModule("aggregator", s)];
  const rates = new RateTracker();
  assert.equal(statusRows(mods, rates, 1000)[0]!.rate, null);
  s.n = 500;
  const r = statusRows(mods, rates, 1500)[0]!;
  assert.equal(r.rate, 1000);
  assert.equal(r.lag, 11);
  assert.equal(r.watermark, 500);
});

Deno.test("terminal: TTY mode redraws the same lines in place; logs go above the block", () => {
  const chunks: string[] = [];
  const dec = new TextDecoder();
  const out = {
    writeSync: (b: Uint8Array) => (chunks.push(dec.decode(b)), b.length),
    isTerminal: () => true,
  };
  const s = { n: 1 };
  const t = startTerminalStatus({
    log: createLogger("test"),
    modules: () => [fakeModule("aggregator", s)],
    out,
    intervalMs: 60_000,
    columns: () => 80,
  });
  createLogger("test").info("hello");
  t.stop();
  const all = chunks.join("");
  // First draw: 2 lines; every later draw first moves up exactly 2 lines.
  // deno-lint-ignore no-control-regex
  const ups = [...all.matchAll(/\x1b\[(\d+)A/g)].map((m) => Number(m[1]));
  assert.ok(ups.length >= 2);
  assert.ok(ups.every((n) => n === 2), JSON.stringify(ups));
  assert.match(all, /hello/);
  assert.ok(all.endsWith("\x1b[?25h"));
});

Deno.test("terminal: not a TTY: one plain log line per interval", async () => {
  const lines: string[] = [];
  const log = createLogger("plain", { write: (l) => lines.push(l) });
  const s = { n: 0 };
  const t = startTerminalStatus({
    log,
    modules: () => [fakeModule("aggregator", s)],
    tty: false,
    logIntervalMs: 30,
  });
  await new Promise((r) => setTimeout(r, 100));
  t.stop();
  assert.ok(lines.length >= 2, lines.join("\n"));
  assert.match(lines[0]!, /status aggregator="state=running ev\/s=- lag=11 watermark=1970/);
  assert.ok(lines.every((l) => !l.includes("\x1b")));
});
