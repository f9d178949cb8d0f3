import assert from "node:assert/strict";
import { sleep } from "./sleep.ts";

Deno.test("sleep resolves after its time without a signal", async () => {
  const t0 = performance.now();
  await sleep(30);
  assert.ok(performance.now() - t0 >= 25);
});

Deno.test("sleep ends early when its signal aborts, and at once when already aborted", async () => {
  const ac = new AbortController();
  const t0 = performance.now();
  setTimeout(() => ac.abort(), 10);
  await sleep(10_000, ac.signal);
  assert.ok(performance.now() - t0 < 1000);
  const t1 = performance.now();
  await sleep(10_000, ac.signal);
  assert.ok(performance.now() - t1 < 50);
});
