/**
 * Retrying S3 calls: exponential backoff with "equal jitter" (half the delay fixed, half
 * random), capped. An outage (network, timeouts, 5xx, throttling: `s3_errors.ts`) is retried
 * forever unless aborted: it must never make the archiver exit; it waits (with fetching
 * paused upstream) and catches up afterwards. A refusal (403 AccessDenied, 404 NoSuchBucket,
 * other 4xx) is tried `permanentAttempts` times and an unreadable object once; then `retry`
 * throws `GaveUp`, and the caller reports the partition as faulted.
 *
 * @module
 */
import { classifyFailure, GaveUp } from "./s3_errors.ts";
import { sleep } from "../runtime/sleep.ts";

export { classifyFailure, describeFailure, GaveUp, isRetriable } from "./s3_errors.ts";

/** Backoff settings. */
export interface BackoffPolicy {
  /** First delay in ms. Default 200. */
  baseMs?: number;
  /** Largest delay in ms. Default 10000. */
  maxMs?: number;
  /** Random source in [0, 1) for jitter; default Math.random. */
  random?: () => number;
}

/**
 * Delay before retry number `attempt` (1-based): d = min(max, base·2^(attempt-1)), then equal
 * jitter: d/2 + random·d/2, so a delay is never shorter than half its step.
 */
export function backoffDelay(attempt: number, policy: BackoffPolicy = {}): number {
  const base = policy.baseMs ?? 200;
  const max = policy.maxMs ?? 10_000;
  const exp = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  const r = (policy.random ?? Math.random)();
  return Math.round(exp / 2 + (exp / 2) * r);
}

/** Thrown by `retry` when its signal aborts. */
export class RetryAborted extends Error {
  constructor(what: string, cause?: unknown) {
    super(`${what}: gave up (stopping)`, { cause });
    this.name = "RetryAborted";
  }
}

/** Options of `retry`. */
export interface RetryOptions extends BackoffPolicy {
  /** Aborting stops retrying: `retry` then rejects with `RetryAborted`. */
  signal?: AbortSignal;
  /** Called before each wait, with the failure and the attempt number. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Called once when a call succeeds after failures. */
  onRecovered?: (attempts: number) => void;
  /**
   * Consecutive refusals (403, 404, other 4xx) after which `retry` gives up with `GaveUp`.
   * Default 5: with the default backoff the four waits in between add up to 1.5–3 s, which
   * rides out a key or bucket created a moment ago (or a server still loading its
   * identities after a restart), not a revoked one. Outages never count.
   */
  permanentAttempts?: number;
}

/** Default of `RetryOptions.permanentAttempts`. */
export const DEFAULT_PERMANENT_ATTEMPTS = 5;

/**
 * Runs `fn` until it succeeds, backing off between failures. Outages are retried until
 * `signal` aborts (then `RetryAborted`); a refusal `permanentAttempts` times in a row and an
 * unreadable object once, then it throws `GaveUp` (its `cause` is the last error).
 */
export async function retry<T>(
  what: string,
  fn: () => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  const maxRefused = Math.max(1, opts.permanentAttempts ?? DEFAULT_PERMANENT_ATTEMPTS);
  let refused = 0;
  for (let attempt = 1;; attempt++) {
    if (opts.signal?.aborted) throw new RetryAborted(what);
    try {
      const out = await fn();
      if (attempt > 1) opts.onRecovered?.(attempt);
      return out;
    } catch (e) {
      if (opts.signal?.aborted) throw new RetryAborted(what, e);
      if (e instanceof GaveUp) throw e;
      const kind = classifyFailure(e);
      if (kind === "unreadable") throw new GaveUp(what, e, kind, attempt);
      refused = kind === "refused" ? refused + 1 : 0;
      if (refused >= maxRefused) throw new GaveUp(what, e, "refused", attempt);
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(e, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
