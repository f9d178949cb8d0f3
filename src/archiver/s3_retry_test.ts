import assert from "node:assert/strict";
import { LedgerError } from "./ledger.ts";
import { backoffDelay, GaveUp, retry, RetryAborted } from "./s3_retry.ts";

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
  // equal jitter: every delay is between half its step and its step
  for (let i = 0; i < 100; i++) {
    const d = backoffDelay(4, { baseMs: 100, maxMs: 1000 });
    assert.ok(d >= 400 && d <= 800, String(d));
  }
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

const denied = () => ({ name: "AccessDenied", $metadata: { httpStatusCode: 403 } });

Deno.test("retry gives up on a refusal after permanentAttempts, with GaveUp naming it", async () => {
  let n = 0;
  const seen: number[] = [];
  const err = await retry("upload k", () => {
    n++;
    return Promise.reject(denied());
  }, { baseMs: 1, maxMs: 2, onRetry: (_e, a) => seen.push(a) }).catch((e) => e);
  assert.ok(err instanceof GaveUp, String(err));
  assert.equal(n, 5, "default: five attempts");
  assert.deepEqual(seen, [1, 2, 3, 4], "the attempts before giving up are logged as retries");
  assert.equal(err.kind, "refused");
  assert.match(err.message, /^upload k: HTTP 403 AccessDenied/);
  assert.deepEqual(err.cause, denied());
  n = 0;
  await assert.rejects(
    retry("x", () => (n++, Promise.reject(denied())), { baseMs: 1, permanentAttempts: 1 }),
    GaveUp,
  );
  assert.equal(n, 1);
});

Deno.test("retry: outages reset the refusal count and are retried without limit", async () => {
  let n = 0;
  // refused, refused, outage, refused, refused, outage ... then success: never 3 refusals in a row
  const out = await retry("x", () => {
    n++;
    if (n > 30) return Promise.resolve("ok");
    return Promise.reject(n % 3 === 0 ? new Error("ECONNREFUSED") : denied());
  }, { baseMs: 1, maxMs: 1, permanentAttempts: 3 });
  assert.equal(out, "ok");
  assert.equal(n, 31);
});

Deno.test("retry: an unreadable ledger gives up at once", async () => {
  let n = 0;
  const err = await retry("recover t/0", () => {
    n++;
    return Promise.reject(new LedgerError("ledger of t/0 overlaps"));
  }, { baseMs: 1 }).catch((e) => e);
  assert.ok(err instanceof GaveUp);
  assert.equal(err.kind, "unreadable");
  assert.equal(n, 1);
  n = 0;
  await assert.rejects(
    retry("x", () => (n++, Promise.reject(new SyntaxError("not JSON"))), { baseMs: 1 }),
    GaveUp,
  );
  assert.equal(n, 1);
});

Deno.test("retry: aborting wins over a refusal (RetryAborted, as before)", async () => {
  const ac = new AbortController();
  const p = retry("x", () => {
    ac.abort();
    return Promise.reject(denied());
  }, { baseMs: 1, signal: ac.signal });
  await assert.rejects(p, RetryAborted);
  await assert.rejects(retry("x", () => Promise.resolve(1), { signal: ac.signal }), RetryAborted);
});
