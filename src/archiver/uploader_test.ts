import assert from "node:assert/strict";
import { backoffDelay, retry, RetryAborted } from "./uploader.ts";

Deno.test("backoff doubles and is capped", () => {
  const fixed = { baseMs: 100, maxMs: 1000, random: () => 1 };
  assert.deepEqual([1, 2, 3, 4, 5, 50].map((n) => backoffDelay(n, fixed)), [
    100,
    200,
    400,
    800,
    1000,
    1000,
  ]);
  assert.equal(backoffDelay(3, { baseMs: 100, maxMs: 1000, random: () => 0 }), 200);
});

Deno.test("retry keeps trying until the call succeeds", async () => {
  let n = 0;
  const seen: number[] = [];
  const out = await retry("x", () => {
    n++;
    return n < 4 ? Promise.reject(new Error("down")) : Promise.resolve("ok");
  }, { baseMs: 1, maxMs: 2, onRetry: (_e, a) => seen.push(a) });
  assert.equal(out, "ok");
  assert.deepEqual(seen, [1, 2, 3]);
});

Deno.test("retry stops when aborted", async () => {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(
    retry("x", () => Promise.reject(new Error("down")), { baseMs: 5, maxMs: 5, signal: ac.signal }),
    RetryAborted,
  );
});
