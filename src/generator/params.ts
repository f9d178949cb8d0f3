/**
 * Parameters of a generated stream, their defaults, and the run id derived from them.
 *
 * @module
 */
import { hash32 } from "./random.ts";

/** What `generateStream` produces. See the Generator API contract in docs/generator.md. */
export interface StreamParams {
  /** Seed of every random draw. */
  seed: number;
  /** Number of distinct valid events. */
  events: number;
  /** ISO start of simulated event time. */
  start: string;
  /** Simulated event-time density (events per second of event time), not the send rate. */
  eventsPerSecond: number;
  /** Number of users (ids u000001...). */
  users: number;
  /** Number of products (ids p00001...). */
  products: number;
  /** Share of valid events emitted late. */
  lateFraction: number;
  /** Upper bound of the lateness (ms) of late events; lateness is uniform on [1, this]. */
  maxLatenessMs: number;
  /** Share (per valid event) of extra re-sent copies: same bytes, same key. */
  duplicateFraction: number;
  /** Share (per valid event) of extra malformed records, cycling through all kinds. */
  malformedFraction: number;
}

/**
 * Records per send of the generator (one send in flight, split by partition). 1000 keeps the
 * records waiting for an acknowledgement few: with 4000 the 1M-event run was no faster and
 * peaked ~70 MB higher (in-process, `produceStream`, 6 partitions).
 */
export const DEFAULT_SEND_BATCH = 1000;

/** The defaults of every stream parameter. */
export const DEFAULT_STREAM_PARAMS: Readonly<StreamParams> = Object.freeze({
  seed: 1,
  events: 10_000,
  start: "2026-01-01T00:00:00.000Z",
  eventsPerSecond: 1000,
  users: 1000,
  products: 200,
  lateFraction: 0.01,
  maxLatenessMs: 30_000,
  duplicateFraction: 0.01,
  malformedFraction: 0.005,
});

/** Defaults with overrides applied, validated. */
export function defaultStreamParams(overrides: Partial<StreamParams> = {}): StreamParams {
  const p: StreamParams = { ...DEFAULT_STREAM_PARAMS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined) (p as unknown as Record<string, unknown>)[k] = v;
  }
  checkStreamParams(p);
  return p;
}

/** Throws an Error naming the first invalid parameter. */
export function checkStreamParams(p: StreamParams): void {
  const intIn = (name: keyof StreamParams, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = p[name] as number;
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new Error(`${name} is ${v}: expected an integer ${min}..${max}`);
    }
  };
  const frac = (name: keyof StreamParams) => {
    const v = p[name] as number;
    if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
      throw new Error(`${name} is ${v}: expected a number 0..1`);
    }
  };
  intIn("seed", 0, 0xffffffff);
  intIn("events", 0);
  intIn("users", 1, 99_999_999);
  intIn("products", 1, 9_999_999);
  intIn("maxLatenessMs", 1, 86_400_000);
  if (!(typeof p.eventsPerSecond === "number" && p.eventsPerSecond > 0)) {
    throw new Error(`eventsPerSecond is ${p.eventsPerSecond}: expected a number > 0`);
  }
  frac("lateFraction");
  frac("duplicateFraction");
  frac("malformedFraction");
  const t = Date.parse(p.start);
  if (!Number.isFinite(t) || new Date(t).toISOString() !== p.start) {
    throw new Error(
      `start is ${JSON.stringify(p.start)}: expected ISO UTC like 2026-01-01T00:00:00.000Z`,
    );
  }
}

const KEYS: (keyof StreamParams)[] = [
  "seed",
  "events",
  "start",
  "eventsPerSecond",
  "users",
  "products",
  "lateFraction",
  "maxLatenessMs",
  "duplicateFraction",
  "malformedFraction",
];

/** Params in a fixed key order (manifests print them this way). */
export function canonicalParams(p: StreamParams): StreamParams {
  const out: Record<string, unknown> = {};
  for (const k of KEYS) out[k] = p[k];
  return out as unknown as StreamParams;
}

/** 8 hex digits identifying the parameters (plus extra parts, e.g. the order count). */
export function paramsHash(p: StreamParams, ...extra: (string | number)[]): string {
  const text = JSON.stringify([canonicalParams(p), ...extra]);
  // two differently-salted FNV hashes, to make accidental collisions rarer
  const a = hash32(text), b = hash32(`nexus:${text}`);
  return ((a ^ Math.imul(b, 0x9e3779b1)) >>> 0).toString(16).padStart(8, "0");
}

/** The run id, `<seed>-<params hash>`, used in event ids and S3 prefixes. */
export function runId(p: StreamParams, ...extra: (string | number)[]): string {
  return `${p.seed}-${paramsHash(p, ...extra)}`;
}
