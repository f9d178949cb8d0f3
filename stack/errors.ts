/**
 * The one error type of the local stack: a single line saying what could not be done, the
 * value at fault and the fix, plus the service and log file when a service is to blame.
 *
 * @module
 */

/** Names of the three services of the local stack. */
export type ServiceName = "kafka" | "postgres" | "s3";

/** A stack failure whose message is one line: "Cannot X: current value is Y; fix: Z". */
export class StackError extends Error {
  /** The service at fault, if any. */
  readonly service: ServiceName | undefined;
  /** The log file to read, if any. */
  readonly logFile: string | undefined;
  constructor(
    message: string,
    opts: { service?: ServiceName; logFile?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "StackError";
    this.service = opts.service;
    this.logFile = opts.logFile;
  }
}

export { reasonOf } from "../src/runtime/errors.ts";
