/**
 * Waiting that a stop can cut short.
 *
 * @module
 */

/**
 * Resolves after `ms`, or at once when `signal` aborts (or already has). Never rejects: the
 * caller checks `signal.aborted` to tell the two apart.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
