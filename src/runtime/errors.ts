/**
 * Errors that say what failed, which setting it concerns, and whether retrying can help.
 *
 * @module
 */

/** A failure to reach or use an external service, with the setting to look at. */
export class ServiceError extends Error {
  /** The environment variable of the setting most likely at fault, if any. */
  readonly setting: string | undefined;
  /** True when retrying later may succeed (outage), false for misconfiguration. */
  readonly retriable: boolean;
  constructor(message: string, opts: { setting?: string; retriable: boolean; cause?: unknown }) {
    super(message, { cause: opts.cause });
    this.name = "ServiceError";
    this.setting = opts.setting;
    this.retriable = opts.retriable;
  }
}

/** Extracts a one-line reason from any thrown value (no stack, no newlines). */
export function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, " ").trim().slice(0, 300);
}
