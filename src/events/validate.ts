/**
 * The one validator of click events, compiled from `click_event.schema.json` so that the
 * generator, the aggregator, the archiver and `verify` apply the same definition.
 *
 * @module
 */
import { isAscii } from "node:buffer";
import { Ajv, type ErrorObject } from "ajv";
import schema from "./click_event.schema.json" with { type: "json" };
import { utcInstant } from "./instant.ts";
import { wholeCents } from "./revenue.ts";
import { latin1, scanEvent } from "./scan.ts";
import {
  type ClickEvent,
  type EventCore,
  type MalformedKind,
  MAX_EVENT_BYTES,
  MAX_PRICE,
  MAX_QUANTITY,
  MIN_EVENT_TIME,
} from "./event.ts";

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
  if (err.keyword === "minimum" || err.keyword === "maximum") return "out_of_range";
  if (path === "/schema_version") return "wrong_schema_version";
  if (path === "/action" && err.keyword === "enum") return "unknown_action";
  if (path === "/timestamp" && err.keyword === "pattern") return "bad_timestamp";
  return "wrong_type";
}

/** What a consumer knows about a record beyond its value: the clock guard's inputs. */
export interface RecordClock {
  /** The Kafka record timestamp, epoch ms. */
  recordTimestamp: number;
  /** Largest allowed lead of the event time over `recordTimestamp`, ms (`NEXUS_MAX_FUTURE_MS`). */
  maxFutureMs: number;
}

/**
 * Validates raw record bytes (a Kafka value). Never throws: a malformed record yields its
 * reason and a human detail, so the caller can dead-letter it and move on. With `clock`, an
 * event whose time is more than `maxFutureMs` ahead of its record timestamp is
 * `future_timestamp` (a wrong producer clock must not move watermarks).
 */
export function validateRecord(
  value: Uint8Array | null | undefined,
  clock?: RecordClock,
): Validation {
  const v = validateBytes(value);
  if (v.ok && clock && v.time - clock.recordTimestamp > clock.maxFutureMs) {
    return {
      ok: false,
      reason: "future_timestamp",
      detail: `event time ${v.event.timestamp} is ${
        v.time - clock.recordTimestamp
      } ms ahead of the record timestamp ${
        new Date(clock.recordTimestamp).toISOString()
      } (NEXUS_MAX_FUTURE_MS=${clock.maxFutureMs})`,
    };
  }
  return v;
}

/** `validateRecord`'s answer where a valid event is needed only for counting (`EventCore`). */
export type CoreValidation =
  | { ok: true; event: EventCore; /** epoch milliseconds of `timestamp` */ time: number }
  | { ok: false; reason: MalformedKind; detail: string };

/**
 * `validateRecord` for the hot paths: the same verdict, reason and detail for every record, but
 * a valid event of the plain shape is read straight from its bytes (`scanEvent`) and only its
 * counting fields come back; everything else goes through `validateRecord`.
 */
export function validateRecordCore(
  value: Uint8Array | null | undefined,
  clock?: RecordClock,
): CoreValidation {
  if (value && value.byteLength <= MAX_EVENT_BYTES) {
    const s = scanEvent(value);
    if (s && !(clock && s.time - clock.recordTimestamp > clock.maxFutureMs)) {
      return { ok: true, event: s, time: s.time };
    }
  }
  return validateRecord(value, clock);
}

function validateBytes(value: Uint8Array | null | undefined): Validation {
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
    parsed = JSON.parse(utf8Text(value));
  } catch (e) {
    return { ok: false, reason: "not_json", detail: (e as Error).message.slice(0, 200) };
  }
  return validateValue(parsed);
}

/**
 * The text of UTF-8 `bytes`; throws a `TypeError` when they are not valid UTF-8. ASCII bytes
 * (every event the generator writes) are read as Latin-1, which for them is the same text and
 * costs a quarter of the fatal decoder.
 */
function utf8Text(bytes: Uint8Array): string {
  if (!isAscii(bytes)) return decoder.decode(bytes);
  return latin1(bytes, 0, bytes.byteLength);
}

/**
 * Validates an already-parsed value against the schema; see `validateRecord`. The common case,
 * an event of the known v1 shape that is certainly valid, is accepted by a hand-written check
 * (`fastAccept`); everything else goes through Ajv (`validateValueStrict`), which stays the one
 * definition and produces every rejection's reason and detail. Same results as
 * `validateValueStrict` for every input (differential property test in `validate_test.ts`).
 */
export function validateValue(parsed: unknown): Validation {
  const time = fastAccept(parsed);
  if (time !== undefined) return { ok: true, event: parsed as ClickEvent, time };
  return validateValueStrict(parsed);
}

/** Ajv-only validation: the reference `validateValue` is equivalent to. */
export function validateValueStrict(parsed: unknown): Validation {
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
  if (time < MIN_EVENT_TIME) {
    return {
      ok: false,
      reason: "out_of_range",
      detail: `timestamp ${parsed.timestamp} is before 0001-01-01T00:00:00.000Z`,
    };
  }
  const price = parsed.price;
  if (price !== undefined && !wholeCents(price)) {
    return {
      ok: false,
      reason: "out_of_range",
      detail: `/price ${price} is not a whole number of cents`,
    };
  }
  return { ok: true, event: parsed, time };
}

/**
 * A string Ajv's `minLength: 1` / `maxLength: max` certainly accepts. Ajv counts code points,
 * which are never more than UTF-16 units, so `length <= max` is sufficient (not necessary:
 * longer strings of astral characters fall back to Ajv).
 */
function shortString(v: unknown, max: number): boolean {
  return typeof v === "string" && v.length >= 1 && v.length <= max;
}

/**
 * Epoch milliseconds of `s` if it certainly matches the schema's timestamp pattern
 * (`YYYY-MM-DDTHH:MM:SS.mmmZ`, ASCII digits) and names a real UTC instant (what
 * `new Date(Date.parse(s)).toISOString() === s` accepts); `undefined` when not sure.
 */
function fastTime(s: string): number | undefined {
  if (
    s.length !== 24 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 ||
    s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 ||
    s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90
  ) return undefined;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  const ms = digits(s, 20, 3);
  return utcInstant(year, month, day, hour, minute, second, ms);
}

/** The decimal value of `n` ASCII digits of `s` from `at`; negative if any is not a digit. */
function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The fast path: the event's epoch milliseconds if `v` is certainly valid per the schema (and
 * its timestamp a real instant), `undefined` when not sure. Never rejects: a caller falls back
 * to `validateValueStrict`, so this may only ever be stricter than the schema, never looser.
 * `validateValue` is this, falling back to `validateValueStrict`; callers want that.
 */
export function fastAccept(v: unknown): number | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  if (
    e.schema_version !== 1 || !shortString(e.event_id, 128) || !shortString(e.user_id, 64) ||
    !shortString(e.session_id, 128) || !shortString(e.product_id, 64)
  ) return undefined;
  const action = e.action;
  let purchase = false;
  switch (action) {
    case "view":
    case "click":
    case "add_to_cart":
    case "remove_from_cart":
      break;
    case "purchase":
      purchase = true;
      break;
    default:
      return undefined;
  }
  const price = e.price;
  if (price !== undefined) {
    if (
      typeof price !== "number" || !(price >= 0) || !(price <= MAX_PRICE) || !wholeCents(price)
    ) return undefined;
  } else if (purchase) return undefined;
  const quantity = e.quantity;
  if (quantity !== undefined) {
    if (
      !Number.isSafeInteger(quantity) || !((quantity as number) >= 1) ||
      !((quantity as number) <= MAX_QUANTITY)
    ) return undefined;
  } else if (purchase) return undefined;
  const device = e.device;
  if (
    device !== undefined && device !== "desktop" && device !== "mobile" && device !== "tablet"
  ) return undefined;
  const referrer = e.referrer;
  if (
    referrer !== undefined && (typeof referrer !== "string" || referrer.length > 256)
  ) return undefined;
  const timestamp = e.timestamp;
  return typeof timestamp === "string" ? fastTime(timestamp) : undefined;
}
