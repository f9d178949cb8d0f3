/**
 * Which archiver failures are worth retrying. One place decides, for every S3 call and every
 * object the archiver reads back:
 *
 * - **retriable** (an outage: wait and catch up): network errors and timeouts (no HTTP
 *   status), HTTP 5xx, 429 and 408, throttling (`SlowDown`, `Throttling`, ...), 400
 *   `RequestTimeout` / `IncompleteBody`, 409 `OperationAborted` ("a conflicting operation
 *   is in progress, retry"), and clock-skew refusals (`RequestTimeTooSkewed`,
 *   `RequestExpired`: the SDK corrects its clock offset from the server's `Date` header);
 * - **refused** (the server understood and said no; retrying the same request cannot help):
 *   403 `AccessDenied` / `InvalidAccessKeyId` / `SignatureDoesNotMatch`, 404 `NoSuchBucket`,
 *   401, and every other 4xx. `retry` still tries such a call a few times
 *   (`permanentAttempts`, default 5: 1.5–3 s) before giving up, to ride out a key or bucket
 *   that was created a moment ago and is not visible everywhere yet;
 * - **unreadable** (an object whose content is broken: an inconsistent ledger, `LedgerError`,
 *   or a ledger/head object that is not JSON, a `SyntaxError` with no HTTP response):
 *   reading it again gives the same bytes, so `retry` gives up at once.
 *
 * @module
 */
import { reasonOf } from "../runtime/errors.ts";

/** How a failure is handled: retried forever, or given up on. */
export type FailureKind = "retriable" | "refused" | "unreadable";

/** Error codes (SDK `name`, S3 `Code`) that are outages, whatever the status. */
const RETRIABLE_CODES = new Set([
  "RequestTimeout",
  "RequestTimeoutException",
  "IncompleteBody",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "TooManyRequests",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "BandwidthLimitExceeded",
  "ServiceUnavailable",
  "InternalError",
  "OperationAborted",
  "RequestTimeTooSkewed",
  "RequestExpired",
  "TimeoutError",
  "AbortError",
]);

/** Error codes that are refusals, even when the HTTP status is missing. */
const REFUSED_CODES = new Set([
  "AccessDenied",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "NoSuchBucket",
  "AllAccessDisabled",
  "AccountProblem",
  "InvalidBucketName",
  "ExpiredToken",
  "InvalidToken",
  "NotSignedUp",
]);

/** The HTTP status of an AWS SDK error, if it got a response. */
export function httpStatus(e: unknown): number | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The error's code: the SDK's `name` (= S3 `Code`), or `Code`. */
export function errorCode(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const { name, Code } = e as { name?: unknown; Code?: unknown };
  if (typeof Code === "string" && Code) return Code;
  return typeof name === "string" && name ? name : undefined;
}

/** Classifies a failure of an S3 call or of reading back an archiver object. */
export function classifyFailure(e: unknown): FailureKind {
  if (e instanceof GaveUp) return e.kind;
  const code = errorCode(e);
  const status = httpStatus(e);
  if (code === "LedgerError") return "unreadable";
  if (code !== undefined && RETRIABLE_CODES.has(code)) return "retriable";
  if (code !== undefined && REFUSED_CODES.has(code)) return "refused";
  if (status !== undefined) {
    if (status >= 500 || status === 429 || status === 408) return "retriable";
    if (status >= 400) return "refused";
    return "retriable";
  }
  // JSON.parse / BigInt of an object's content (the SDK's own errors carry `$metadata`)
  if (e instanceof SyntaxError) return "unreadable";
  // no response at all: connection refused/reset, DNS, TLS, timeouts
  return "retriable";
}

/** True when retrying `e` later may succeed (an outage, not a refusal or a broken object). */
export function isRetriable(e: unknown): boolean {
  return classifyFailure(e) === "retriable";
}

/** A one-line description of a failed S3 call for logs: `HTTP 403 AccessDenied: <message>`. */
export function describeFailure(e: unknown): string {
  if (e instanceof GaveUp) return e.message;
  const status = httpStatus(e);
  const code = errorCode(e);
  const message = reasonOf(e);
  const named = code && code !== "Error" && !message.startsWith(code)
    ? `${code}: ${message}`
    : message;
  return status ? `HTTP ${status} ${named}` : named;
}

/**
 * Thrown by `retry` for a failure that is not retriable (after `permanentAttempts` for a
 * refusal, at once for an unreadable object). The message names the call and the failure;
 * `cause` is the last error.
 */
export class GaveUp extends Error {
  readonly kind: "refused" | "unreadable";
  readonly attempts: number;
  constructor(what: string, cause: unknown, kind: "refused" | "unreadable", attempts: number) {
    super(`${what}: ${describeFailure(cause)}`, { cause });
    this.name = "GaveUp";
    this.kind = kind;
    this.attempts = attempts;
  }
}
