/**
 * One short-lived kafkajs admin for the stack's health checks: short timeouts, no retries,
 * no logging, always disconnected afterwards.
 *
 * @module
 */
import { type Admin, Kafka, logLevel, type SASLOptions } from "kafkajs";
import { reasonOf } from "./errors.ts";

/** The outcome of a probe: the value `fn` returned, or why it could not run. */
export type ProbeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Runs `fn` against `brokers` with a probe admin client; never throws. */
export async function probeKafka<T>(
  clientId: string,
  brokers: string[],
  fn: (admin: Admin) => Promise<T>,
  sasl?: SASLOptions,
): Promise<ProbeResult<T>> {
  const kafka = new Kafka({
    clientId,
    brokers,
    sasl,
    connectionTimeout: sasl ? 3000 : 2000,
    requestTimeout: 5000,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    return { ok: true, value: await fn(admin) };
  } catch (e) {
    return { ok: false, reason: reasonOf(e) };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}
