/**
 * Runs the live terminal status over fake modules for a few seconds, printing a log line now
 * and then (used by tests/observe_terminal_test.ts inside a tmux pseudo-terminal).
 *
 * Args: seconds (default 3), log every N ms (default 700).
 *
 * @module
 */
import { createLogger } from "../../log/logger.ts";
import type { RunningModule } from "../../runtime/module.ts";
import { startTerminalStatus } from "../terminal.ts";

const seconds = Number(Deno.args[0] ?? 3);
const logEvery = Number(Deno.args[1] ?? 700);
const t0 = Date.now();
const fake = (name: "aggregator" | "archiver" | "generator", rate: number): RunningModule => ({
  name,
  done: new Promise(() => {}),
  stop: () => Promise.resolve(),
  status: () => {
    const n = Math.round(((Date.now() - t0) * rate) / 1000);
    return {
      eventsIn: n,
      eventsOut: n,
      deadLettered: Math.floor(n / 1000),
      late: Math.floor(n / 5000),
      lastFlushAt: Date.now() - 300,
      partitions: { 0: { lag: 120, watermark: Date.now() - 60_000 }, 1: { lag: 7 } },
    };
  },
});
const mods = [fake("generator", 5000), fake("aggregator", 4800), fake("archiver", 4700)];
const log = createLogger("demo");
const term = startTerminalStatus({ log, modules: () => mods, intervalMs: 200 });
let i = 0;
const timer = setInterval(() => log.info("a log line", { i: ++i }), logEvery);
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(timer);
term.stop();
console.error("demo done");
