/**
 * Types at the boundary of the click stream: what an event is, and the kinds of malformed
 * record Nexus recognises.
 *
 * @module
 */

/** The five actions of the click stream. */
export const ACTIONS = ["view", "click", "add_to_cart", "remove_from_cart", "purchase"] as const;
/** One of the five actions. */
export type Action = typeof ACTIONS[number];

/** A valid click event, schema version 1 (see `click_event.schema.json`). */
export interface ClickEvent {
  schema_version: 1;
  event_id: string;
  user_id: string;
  session_id: string;
  product_id: string;
  action: Action;
  /** ISO-8601 UTC with milliseconds. */
  timestamp: string;
  price?: number;
  quantity?: number;
  device?: "desktop" | "mobile" | "tablet";
  referrer?: string;
}

/** What counting an event needs of it: every `ClickEvent` is one (`validateRecordCore`). */
export type EventCore = Pick<ClickEvent, "event_id" | "action" | "price" | "quantity">;

/**
 * Why a record is dead-lettered. Every dead letter gets exactly one of these. The first nine
 * are decided from the record alone (`validateRecord`); `unstorable` is a schema-valid record
 * PostgreSQL refused to store (e.g. a NUL character in a late event's id).
 */
export const MALFORMED_KINDS = [
  "not_json",
  "missing_field",
  "wrong_type",
  "unknown_action",
  "bad_timestamp",
  "wrong_schema_version",
  "oversized",
  "out_of_range",
  "future_timestamp",
  "unstorable",
] as const;
/** One reason a record is dead-lettered. */
export type MalformedKind = typeof MALFORMED_KINDS[number];

/**
 * The kinds decided by a record's value alone (`future_timestamp` also needs the record
 * timestamp, `unstorable` the database): the ones the generator builds.
 */
export const VALUE_MALFORMED_KINDS: readonly MalformedKind[] = MALFORMED_KINDS.filter((k) =>
  k !== "future_timestamp" && k !== "unstorable"
);

/** Largest unit price (currency units). Prices are whole cents. */
export const MAX_PRICE = 1_000_000;
/** Largest quantity of one purchase. */
export const MAX_QUANTITY = 10_000;
/** Earliest event time: 0001-01-01T00:00:00.000Z (PostgreSQL has no year 0). */
export const MIN_EVENT_TIME = -62_135_596_800_000;
/** Default of `NEXUS_MAX_FUTURE_MS`: how far an event time may be ahead of its record's. */
export const DEFAULT_MAX_FUTURE_MS = 300_000;

/** Records larger than this many bytes are `oversized` without being parsed. */
export const MAX_EVENT_BYTES = 8 * 1024;
