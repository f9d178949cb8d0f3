/**
 * The hot path of validation: a click event read straight from its bytes, without decoding
 * them to text or building the parsed object. It accepts only what it is certain of — a JSON
 * object of the schema's known fields, ASCII strings without escapes, plain numbers — and that
 * `validateRecord` would accept with the same values; for anything else (`undefined`) the
 * caller falls back to `validateRecord`, which stays the one definition and gives every
 * rejection its reason. Checked differentially against `validateRecord` (`scan_test.ts`).
 *
 * Why: decoding and `JSON.parse` were a fifth of the aggregator's CPU and most of what it
 * allocated per record.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { type Action, ACTIONS, MAX_PRICE, MAX_QUANTITY } from "./event.ts";
import { utcInstant } from "./instant.ts";
import { wholeCents } from "./revenue.ts";
import schema from "./click_event.schema.json" with { type: "json" };

/** The fields of a valid event that its counting needs, and where the rest is in its bytes. */
export interface ScannedEvent {
  event_id: string;
  action: Action;
  price?: number;
  quantity?: number;
  /** Event time, epoch ms. */
  time: number;
  /** Where the `event_id` string's characters are in the bytes: [idStart, idEnd). */
  idStart: number;
  idEnd: number;
  /** Where the 24 characters of the `timestamp` string start in the bytes. */
  timestampAt: number;
}

/** The schema's fields, in its order: the scanner knows each by its index. */
const FIELDS = Object.keys(schema.properties);
const field = (name: string) => FIELDS.indexOf(name);
const F_SCHEMA = field("schema_version"), F_ID = field("event_id"), F_USER = field("user_id");
const F_SESSION = field("session_id"), F_PRODUCT = field("product_id");
const F_ACTION = field("action"), F_TIMESTAMP = field("timestamp"), F_PRICE = field("price");
const F_QUANTITY = field("quantity"), F_DEVICE = field("device"), F_REFERRER = field("referrer");
const REQUIRED = schema.required.reduce((m, name) => m | (1 << field(name)), 0);
const STRING_FIELDS = (1 << F_ID) | (1 << F_USER) | (1 << F_SESSION) | (1 << F_PRODUCT) |
  (1 << F_ACTION) | (1 << F_TIMESTAMP) | (1 << F_DEVICE) | (1 << F_REFERRER);
/** Longest string (UTF-16 units = bytes here) per field: the schema's `maxLength`, else 24. */
const MAX_LENGTH = FIELDS.map((name) =>
  (schema.properties as Record<string, { maxLength?: number }>)[name]?.maxLength ?? 24
);
const ENC = new TextEncoder();
const FIELD_BYTES = FIELDS.map((f) => ENC.encode(f));
const ACTION_BYTES = ACTIONS.map((a) => ENC.encode(a));
const DEVICE_BYTES = schema.properties.device.enum.map((d) => ENC.encode(d));
const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * The characters of b[start, end), one per byte (for ASCII bytes, their text). A Buffer (what
 * both Kafka clients hand out) decodes natively; the scanner's ids used to be an array of codes
 * spread into `String.fromCharCode`, which left ~500 bytes of garbage per event.
 */
export function latin1(b: Uint8Array, start: number, end: number): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString("latin1", start, end);
}

/** Where each field's string is, for the call in progress (read only where `seen` says so). */
const STARTS = new Int32Array(FIELDS.length);
const ENDS = new Int32Array(FIELDS.length);

/** Per byte: 1 for JSON whitespace. */
const WS = new Uint8Array(256);
for (const c of [0x20, 0x0a, 0x0d, 0x09]) WS[c] = 1;
/** Per byte inside a plain string: 0 a character, 1 the closing quote, 2 anything else. */
const STR = new Uint8Array(256).fill(2);
for (let c = 0x20; c <= 0x7e; c++) STR[c] = 0;
STR[0x22] = 1;
STR[0x5c] = 2;

/** True when b[i] is JSON whitespace (false past the end). */
function isWs(b: Uint8Array, i: number): boolean {
  return i < b.length && WS[b[i]!] === 1;
}

function skipWs(b: Uint8Array, i: number): number {
  const n = b.length;
  while (i < n && WS[b[i]!] === 1) i++;
  return i;
}

/** True when b[start, end) is exactly `word`. */
function same(b: Uint8Array, start: number, end: number, word: Uint8Array): boolean {
  if (end - start !== word.length) return false;
  for (let k = 0; k < word.length; k++) if (b[start + k] !== word[k]) return false;
  return true;
}

/**
 * The field whose name starts at `i` (after its opening quote) and is followed by its closing
 * quote, or -1: the candidate is picked by the first letters, then compared in full.
 */
function fieldAt(b: Uint8Array, i: number): number {
  let f: number;
  switch (b[i]) {
    case 0x65: // e
      f = F_ID;
      break;
    case 0x75: // u
      f = F_USER;
      break;
    case 0x73: // s
      f = b[i + 1] === 0x63 ? F_SCHEMA : F_SESSION;
      break;
    case 0x70: // p
      f = b[i + 2] === 0x69 ? F_PRICE : F_PRODUCT;
      break;
    case 0x61: // a
      f = F_ACTION;
      break;
    case 0x74: // t
      f = F_TIMESTAMP;
      break;
    case 0x71: // q
      f = F_QUANTITY;
      break;
    case 0x64: // d
      f = F_DEVICE;
      break;
    case 0x72: // r
      f = F_REFERRER;
      break;
    default:
      return -1;
  }
  const word = FIELD_BYTES[f]!;
  return b[i + word.length] === 0x22 && same(b, i, i + word.length, word) ? f : -1;
}

/** Index of b[start, end) in `words`, or -1. */
function indexOf(b: Uint8Array, start: number, end: number, words: Uint8Array[]): number {
  for (let k = 0; k < words.length; k++) if (same(b, start, end, words[k]!)) return k;
  return -1;
}

/** End (exclusive, at the closing quote) of a plain string starting after its opening quote at
 * `i`; -1 for an escape, a control character, a non-ASCII byte or no closing quote. */
function stringEnd(b: Uint8Array, i: number): number {
  const n = b.length;
  for (; i < n; i++) {
    const k = STR[b[i]!]!;
    if (k !== 0) return k === 1 ? i : -1;
  }
  return -1;
}

/** The decimal value of `n` ASCII digits from `at`; negative if any is not a digit. */
function digits(b: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = b[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * Epoch ms of the 24 bytes at `at` if they certainly are `YYYY-MM-DDTHH:MM:SS.mmmZ` naming a
 * real UTC instant from year 100 on (as the validator's own fast check); else undefined.
 */
function timeAt(b: Uint8Array, at: number): number | undefined {
  if (
    b[at + 4] !== 45 || b[at + 7] !== 45 || b[at + 10] !== 84 || b[at + 13] !== 58 ||
    b[at + 16] !== 58 || b[at + 19] !== 46 || b[at + 23] !== 90
  ) return undefined;
  const year = digits(b, at, 4);
  const month = digits(b, at + 5, 2);
  const day = digits(b, at + 8, 2);
  const hour = digits(b, at + 11, 2);
  const minute = digits(b, at + 14, 2);
  const second = digits(b, at + 17, 2);
  const ms = digits(b, at + 20, 3);
  return utcInstant(year, month, day, hour, minute, second, ms);
}

/** Where the number `plainNumber` read last ends. */
let numberEnd = 0;

/**
 * A JSON number at `i` without an exponent and with at most 15 significant digits: its value
 * (exactly what `JSON.parse` gives: m / 10^k of exact integers is correctly rounded), and where
 * it ends in `numberEnd`; `undefined` for anything else (invalid JSON included: the caller's
 * fallback says why).
 */
function plainNumber(b: Uint8Array, i: number): number | undefined {
  let neg = false;
  if (b[i] === 0x2d) (neg = true, i++);
  const start = i;
  if (b[i] === 0x30) i++;
  else if (b[i]! >= 0x31 && b[i]! <= 0x39) { while (b[i]! >= 0x30 && b[i]! <= 0x39) i++; }
  else return undefined;
  let mantissa = digits(b, start, i - start);
  let count = i - start;
  let frac = 0;
  if (b[i] === 0x2e) {
    const f = ++i;
    while (b[i]! >= 0x30 && b[i]! <= 0x39) i++;
    frac = i - f;
    if (frac === 0) return undefined;
    count += frac;
    if (count > 15) return undefined;
    mantissa = mantissa * POW10[frac]! + digits(b, f, frac);
  }
  if (count > 15 || b[i] === 0x65 || b[i] === 0x45) return undefined;
  const v = frac === 0 ? mantissa : mantissa / POW10[frac]!;
  numberEnd = i;
  return neg ? -v : v;
}

/**
 * The event in `b` if it certainly is a valid v1 click event that `validateRecord(b)` accepts
 * with these values; `undefined` when not sure (fall back to `validateRecord`). Does not apply
 * the clock guard (`NEXUS_MAX_FUTURE_MS`): that needs the record timestamp.
 */
export function scanEvent(b: Uint8Array): ScannedEvent | undefined {
  let i = skipWs(b, 0);
  if (b[i] !== 0x7b) return undefined;
  i = skipWs(b, i + 1);
  let seen = 0;
  const starts = STARTS;
  const ends = ENDS;
  let price: number | undefined;
  let quantity: number | undefined;
  if (b[i] === 0x7d) return undefined;
  for (;;) {
    if (b[i] !== 0x22) return undefined;
    const f = fieldAt(b, i + 1);
    if (f < 0 || seen & (1 << f)) return undefined; // unknown or repeated: let JSON.parse decide
    const ke = i + 1 + FIELD_BYTES[f]!.length;
    seen |= 1 << f;
    i = ke + 1;
    if (b[i] !== 0x3a) {
      i = skipWs(b, i);
      if (b[i] !== 0x3a) return undefined;
    }
    if (isWs(b, ++i)) i = skipWs(b, i);
    if (f === F_TIMESTAMP) {
      // its 24 characters are checked one by one below (timeAt), the closing quote here
      if (b[i] !== 0x22 || b[i + 25] !== 0x22) return undefined;
      starts[f] = i + 1;
      ends[f] = i + 25;
      i += 26;
    } else if (STRING_FIELDS & (1 << f)) {
      if (b[i] !== 0x22) return undefined;
      const e = stringEnd(b, i + 1);
      if (e < 0) return undefined;
      starts[f] = i + 1;
      ends[f] = e;
      i = e + 1;
    } else {
      const num = plainNumber(b, i);
      if (num === undefined) return undefined;
      if (f === F_SCHEMA && num !== 1) return undefined;
      if (f === F_PRICE) price = num;
      if (f === F_QUANTITY) quantity = num;
      i = numberEnd;
    }
    if (isWs(b, i)) i = skipWs(b, i);
    if (b[i] === 0x2c) {
      if (isWs(b, ++i)) i = skipWs(b, i);
      continue;
    }
    if (b[i] !== 0x7d) return undefined;
    i = skipWs(b, i + 1);
    break;
  }
  if (i !== b.length || (seen & REQUIRED) !== REQUIRED) return undefined;
  for (let f = F_ID; f <= F_REFERRER; f++) {
    if (!(seen & (1 << f)) || !(STRING_FIELDS & (1 << f))) continue;
    const len = ends[f]! - starts[f]!;
    if (len > MAX_LENGTH[f]! || (len === 0 && f !== F_REFERRER)) return undefined;
  }
  const a = indexOf(b, starts[F_ACTION]!, ends[F_ACTION]!, ACTION_BYTES);
  if (a < 0) return undefined;
  const purchase = a === 4;
  if (price !== undefined) {
    if (!(price >= 0) || !(price <= MAX_PRICE) || !wholeCents(price)) {
      return undefined;
    }
  } else if (purchase) return undefined;
  if (quantity !== undefined) {
    if (!Number.isSafeInteger(quantity) || !(quantity >= 1) || !(quantity <= MAX_QUANTITY)) {
      return undefined;
    }
  } else if (purchase) return undefined;
  if (
    seen & (1 << F_DEVICE) &&
    indexOf(b, starts[F_DEVICE]!, ends[F_DEVICE]!, DEVICE_BYTES) < 0
  ) return undefined;
  const ts = starts[F_TIMESTAMP]!;
  if (ends[F_TIMESTAMP]! - ts !== 24) return undefined;
  const time = timeAt(b, ts);
  if (time === undefined) return undefined;
  const idStart = starts[F_ID]!;
  const idEnd = ends[F_ID]!;
  const out: ScannedEvent = {
    event_id: latin1(b, idStart, idEnd),
    action: ACTIONS[a]!,
    time,
    idStart,
    idEnd,
    timestampAt: ts,
  };
  if (price !== undefined) out.price = price;
  if (quantity !== undefined) out.quantity = quantity;
  return out;
}
