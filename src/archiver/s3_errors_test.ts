import assert from "node:assert/strict";
import { LedgerError } from "./ledger.ts";
import { AlreadyExists } from "./store.ts";
import { classifyFailure, describeFailure, GaveUp, isRetriable } from "./s3_errors.ts";

/** An error shaped like the AWS SDK's: `name` = S3 error code, `$metadata.httpStatusCode`. */
function sdkError(name: string, status?: number, message = name): Error {
  const e = new Error(message);
  e.name = name;
  if (status !== undefined) Object.assign(e, { $metadata: { httpStatusCode: status } });
  return e;
}

Deno.test("s3 errors: outages are retriable", () => {
  const retriable: unknown[] = [
    new Error("connect ECONNREFUSED 127.0.0.1:18333"),
    Object.assign(new TypeError("error sending request"), { code: "ECONNRESET" }),
    sdkError("TimeoutError"),
    sdkError("AbortError"),
    sdkError("InternalError", 500),
    sdkError("Unknown", 502),
    sdkError("ServiceUnavailable", 503),
    sdkError("SlowDown", 503),
    sdkError("Throttling", 400),
    sdkError("TooManyRequests", 429),
    sdkError("Unknown", 429),
    sdkError("RequestTimeout", 400),
    sdkError("IncompleteBody", 400),
    sdkError("OperationAborted", 409),
    sdkError("RequestTimeTooSkewed", 403),
    sdkError("Unknown", 408),
    // a body the SDK could not parse, with a response: garbled transfer
    Object.assign(new SyntaxError("Unexpected end of XML"), { $metadata: { httpStatusCode: 200 } }),
    "a string",
  ];
  for (const e of retriable) {
    assert.equal(classifyFailure(e), "retriable", describeFailure(e));
    assert.ok(isRetriable(e));
  }
});

Deno.test("s3 errors: refusals and unreadable objects are not retriable", () => {
  const refused: unknown[] = [
    { name: "AccessDenied", $metadata: { httpStatusCode: 403 } },
    sdkError("InvalidAccessKeyId", 403),
    sdkError("SignatureDoesNotMatch", 403),
    sdkError("Forbidden", 403), // HEAD: no body, no code
    sdkError("403", 403),
    sdkError("NoSuchBucket", 404),
    sdkError("NotFound", 404),
    sdkError("Unauthorized", 401),
    sdkError("InvalidRequest", 400),
    sdkError("EntityTooLarge", 400),
    sdkError("PreconditionFailed", 412),
    // code alone (no response metadata)
    sdkError("AccessDenied"),
    sdkError("NoSuchBucket"),
    { Code: "InvalidAccessKeyId" },
  ];
  for (const e of refused) {
    assert.equal(classifyFailure(e), "refused", describeFailure(e));
    assert.ok(!isRetriable(e));
  }
  const unreadable: unknown[] = [
    new LedgerError("ledger of t/0 overlaps: 0..9 then 5..20"),
    new SyntaxError("Unexpected token 'x', \"x{\" is not valid JSON"),
    (() => {
      try {
        BigInt("12a");
      } catch (e) {
        return e;
      }
    })(),
  ];
  for (const e of unreadable) assert.equal(classifyFailure(e), "unreadable", String(e));
  // the store's own outcome is not a failure the classifier sees, but is not an outage either
  assert.equal(classifyFailure(new AlreadyExists("k")), "retriable");
});

Deno.test("s3 errors: descriptions name the status, the code and the message", () => {
  assert.equal(
    describeFailure(sdkError("AccessDenied", 403, "Access Denied.")),
    "HTTP 403 AccessDenied: Access Denied.",
  );
  assert.equal(describeFailure(sdkError("NoSuchBucket", 404)), "HTTP 404 NoSuchBucket");
  assert.equal(describeFailure(new Error("connect ECONNREFUSED")), "connect ECONNREFUSED");
  const g = new GaveUp("upload k", sdkError("InvalidAccessKeyId", 403, "bad key"), "refused", 3);
  assert.equal(g.message, "upload k: HTTP 403 InvalidAccessKeyId: bad key");
  assert.equal(describeFailure(g), g.message);
  assert.equal(classifyFailure(g), "refused");
  assert.equal(g.attempts, 3);
});
