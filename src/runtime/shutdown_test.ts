// SIGTERM, not SIGINT: the test runner itself aborts on SIGINT. Both share one handler.
import assert from "node:assert/strict";
import { createLogger } from "../log/logger.ts";
import { DUPLICATE_SIGNAL_MS, installShutdown } from "./shutdown.ts";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Installs the handlers with a stop that takes `stopMs`; returns the exit codes seen. */
function install(stopMs: number): { codes: number[]; remove: () => void } {
  const codes: number[] = [];
  const remove = installShutdown(() => sleep(stopMs), {
    timeoutMs: 5000,
    log: createLogger("shutdown-test"),
    exit: (code) => codes.push(code),
  });
  return { codes, remove };
}

Deno.test("one stop signal delivered twice at once stops gracefully with exit code 0", async () => {
  const { codes, remove } = install(DUPLICATE_SIGNAL_MS + 200);
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    Deno.kill(Deno.pid, "SIGTERM");
    await sleep(DUPLICATE_SIGNAL_MS + 500);
    assert.deepEqual(codes, [0]);
  } finally {
    remove();
  }
});

Deno.test("a second stop signal while stopping exits at once with code 130", async () => {
  const { codes, remove } = install(3000);
  try {
    Deno.kill(Deno.pid, "SIGTERM");
    await sleep(DUPLICATE_SIGNAL_MS + 100);
    Deno.kill(Deno.pid, "SIGTERM");
    await sleep(100);
    assert.deepEqual(codes, [130]);
  } finally {
    remove();
  }
});
