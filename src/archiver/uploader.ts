/**
 * Retrying S3 calls: exponential backoff with full jitter, capped, forever unless aborted. An
 * S3 outage must never make the archiver exit; it waits (with fetching paused upstream) and
 * catches up afterwards.
 *
 * @module
 */
import { reasonOf } from "../runtime/errors.ts";

/** Backoff settings. */
export interface BackoffPolicy {
  /** First delay in ms. Default 200. */
  baseMs?: number;
  /** Largest delay in ms. Default 10000. */
  maxMs?: number;
  /** Random source in [0, 1) for jitter; default Math.random. */
  random?: () => number;
}

/** Delay before retry number `attempt` (1-based): min(max, base·2^(attempt-1)), half jittered. */
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

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** Options of `retry`. */
export interface RetryOptions extends BackoffPolicy {
  /** Aborting stops retrying: `retry` then rejects with `RetryAborted`. */
  signal?: AbortSignal;
  /** Called before each wait, with the failure and the attempt number. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Called once when a call succeeds after failures. */
  onRecovered?: (attempts: number) => void;
}

/** Runs `fn` until it succeeds or `signal` aborts, backing off between failures. */
export async function retry<T>(
  what: string,
  fn: () => Promise<T>,
  opts: RetryOptions = {},
): Promise<T> {
  for (let attempt = 1;; attempt++) {
    if (opts.signal?.aborted) throw new RetryAborted(what);
    try {
      const out = await fn();
      if (attempt > 1) opts.onRecovered?.(attempt);
      return out;
    } catch (e) {
      if (opts.signal?.aborted) throw new RetryAborted(what, e);
      const delay = backoffDelay(attempt, opts);
      opts.onRetry?.(e, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}

/** A one-line description of a failed S3 call for logs. */
export function describeFailure(e: unknown): string {
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status ? `HTTP ${status}: ${reasonOf(e)}` : reasonOf(e);
}
