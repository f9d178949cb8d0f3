/**
 * Deliberately malformed records, one builder per `MalformedKind`. Each is derived from an
 * otherwise valid event and must be classified by `validateRecord` as the kind intended.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import {
  type ClickEvent,
  type MalformedKind,
  MAX_EVENT_BYTES,
  MAX_PRICE,
  MAX_QUANTITY,
} from "../events/mod.ts";
import type { Random } from "./random.ts";

const REQUIRED = [
  "schema_version",
  "event_id",
  "user_id",
  "session_id",
  "product_id",
  "action",
  "timestamp",
] as const;
const BAD_ACTIONS = ["hover", "scroll", "wishlist", "VIEW", "buy"];
const BAD_TIMESTAMPS = [
  "yesterday",
  "2026-02-30T10:00:00.000Z",
  "2026-01-01 00:00:00",
  "2026-01-01T00:00:00Z",
  "2026-13-01T00:00:00.000Z",
  "",
];

/** Builds the bytes of a record of `kind` from a valid event `base`. */
export function malformedValue(kind: MalformedKind, base: ClickEvent, rng: Random): Buffer {
  const e: Record<string, unknown> = { ...base };
  switch (kind) {
    case "not_json": {
      const text = JSON.stringify(e);
      // a record cut off mid-way (a truncated write): never parses
      return Buffer.from(text.slice(0, 20 + rng.int(text.length - 40)));
    }
    case "missing_field":
      delete e[rng.pick(REQUIRED)];
      break;
    case "wrong_type": {
      const variant = rng.int(4);
      if (variant === 0) e.user_id = 1000 + rng.int(9000);
      else if (variant === 1) e.product_id = null;
      else if (variant === 2) e.session_id = ["s", 1];
      else e.device = "smartwatch";
      break;
    }
    case "unknown_action":
      e.action = rng.pick(BAD_ACTIONS);
      break;
    case "bad_timestamp":
      e.timestamp = rng.pick(BAD_TIMESTAMPS);
      break;
    case "wrong_schema_version":
      e.schema_version = rng.pick([0, 2, 3, "1"]);
      break;
    case "oversized":
      e.referrer = "https://example.com/?q=" + "x".repeat(MAX_EVENT_BYTES + rng.int(4096));
      break;
    case "out_of_range": {
      // numbers past the contract's bounds (a purchase's revenue that would not fit, a price
      // in fractions of a cent, a negative price) or a time before year 1
      const variant = rng.int(5);
      e.action = "purchase";
      e.price ??= 9.99;
      e.quantity ??= 1;
      if (variant === 0) e.price = MAX_PRICE * (10 + rng.int(1e6));
      else if (variant === 1) e.quantity = MAX_QUANTITY + 1 + rng.int(1e6);
      else if (variant === 2) e.price = 0.005 + rng.int(100);
      else if (variant === 3) e.price = -(1 + rng.int(100));
      else e.timestamp = `0000-${String(1 + rng.int(12)).padStart(2, "0")}-01T00:00:00.000Z`;
      break;
    }
    case "future_timestamp":
    case "unstorable":
      throw new RangeError(`Cannot build a ${kind} record: it depends on more than its value`);
  }
  return Buffer.from(JSON.stringify(e));
}
