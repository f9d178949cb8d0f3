/**
 * The one validator of click events, compiled from `click_event.schema.json` so that the
 * generator, the aggregator, the archiver and `verify` apply the same definition.
 *
 * @module
 */
import { Ajv, type ErrorObject } from "ajv";
import schema from "./click_event.schema.json" with { type: "json" };
import { type ClickEvent, type MalformedKind, MAX_EVENT_BYTES } from "./event.ts";

/** Result of validating one record. */
export type Validation =
  | { ok: true; event: ClickEvent; /** epoch milliseconds of `timestamp` */ time: number }
  | { ok: false; reason: MalformedKind; detail: string };

const ajv = new Ajv({ allErrors: false, strict: false });
const check = ajv.compile<ClickEvent>(schema);
const decoder = new TextDecoder("utf-8", { fatal: true });

function classify(err: ErrorObject): MalformedKind {
  const path = err.instancePath;
  if (err.keyword === "required") return "missing_field";
  if (path === "/schema_version") return "wrong_schema_version";
  if (path === "/action" && err.keyword === "enum") return "unknown_action";
  if (path === "/timestamp" && err.keyword === "pattern") return "bad_timestamp";
  return "wrong_type";
}

/**
 * Validates raw record bytes (a Kafka value). Never throws: a malformed record yields its
 * reason and a human detail, so the caller can dead-letter it and move on.
 */
export function validateRecord(value: Uint8Array | null | undefined): Validation {
  if (!value || value.byteLength === 0) {
    return { ok: false, reason: "not_json", detail: "empty value" };
  }
  if (value.byteLength > MAX_EVENT_BYTES) {
    return {
      ok: false,
      reason: "oversized",
      detail: `value is ${value.byteLength} bytes; the limit is ${MAX_EVENT_BYTES}`,
    };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(value));
  } catch (e) {
    return { ok: false, reason: "not_json", detail: (e as Error).message.slice(0, 200) };
  }
  return validateValue(parsed);
}

/** Validates an already-parsed value against the schema; see `validateRecord`. */
export function validateValue(parsed: unknown): Validation {
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return { ok: false, reason: "wrong_type", detail: "value is not a JSON object" };
  }
  if (!check(parsed)) {
    const err = check.errors?.[0];
    if (!err) return { ok: false, reason: "wrong_type", detail: "schema check failed" };
    const where = err.instancePath || "/";
    const extra = err.keyword === "required"
      ? ` ${(err.params as { missingProperty: string }).missingProperty}`
      : "";
    return { ok: false, reason: classify(err), detail: `${where} ${err.message}${extra}` };
  }
  const time = Date.parse(parsed.timestamp);
  if (!Number.isFinite(time) || new Date(time).toISOString() !== parsed.timestamp) {
    return {
      ok: false,
      reason: "bad_timestamp",
      detail: `timestamp ${JSON.stringify(parsed.timestamp)} is not a real UTC instant`,
    };
  }
  return { ok: true, event: parsed, time };
}
