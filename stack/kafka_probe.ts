/**
 * One short-lived Kafka admin (through the product's Kafka port) for the stack's health
 * checks: short timeouts, few retries, always closed afterwards.
 *
 * @module
 */
import { type Admin, kafkaClientFor, type SaslSettings } from "../src/kafka/mod.ts";
import { reasonOf } from "./errors.ts";

/** The outcome of a probe: the value `fn` returned, or why it could not run. */
export type ProbeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

/** Runs `fn` against `brokers` with a probe admin client; never throws. */
export async function probeKafka<T>(
  clientId: string,
  brokers: string[],
  fn: (admin: Admin) => Promise<T>,
  sasl?: SaslSettings,
): Promise<ProbeResult<T>> {
  const admin = kafkaClientFor("platformatic", {
    brokers,
    clientId,
    sasl,
    connectTimeoutMs: sasl ? 3000 : 2000,
    requestTimeoutMs: 5000,
  }).admin();
  try {
    return { ok: true, value: await fn(admin) };
  } catch (e) {
    return { ok: false, reason: reasonOf(e) };
  } finally {
    await admin.close();
  }
}
