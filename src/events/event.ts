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

/** Why a record is malformed. Every malformed record gets exactly one of these. */
export const MALFORMED_KINDS = [
  "not_json",
  "missing_field",
  "wrong_type",
  "unknown_action",
  "bad_timestamp",
  "wrong_schema_version",
  "oversized",
] as const;
/** One reason a record is malformed. */
export type MalformedKind = typeof MALFORMED_KINDS[number];

/** Records larger than this many bytes are `oversized` without being parsed. */
export const MAX_EVENT_BYTES = 8 * 1024;
