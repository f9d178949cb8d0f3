/**
 * kafkajs 2.2.4 calls `setTimeout` with a negative delay on connect, which makes Node's
 * compatibility layer print a `TimeoutNegativeWarning` to stderr. It is harmless (the delay
 * is treated as 1 ms) and clutters logs and terminal status; this drops only that warning.
 *
 * @module
 */
import process from "node:process";

let installed = false;

/** Drops Node's TimeoutNegativeWarning; other warnings still reach earlier listeners. Idempotent. */
export function hideKafkajsTimerWarning(): void {
  if (installed) return;
  installed = true;
  const previous = process.listeners("warning");
  process.removeAllListeners("warning");
  process.on("warning", (warning: Error) => {
    if (warning.name === "TimeoutNegativeWarning") return;
    if (previous.length === 0) console.warn(`${warning.name}: ${warning.message}`);
    for (const listener of previous) listener(warning);
  });
}
