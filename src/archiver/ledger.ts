/**
 * The boundary ledger: how the archive stays exactly-once across crashes, restarts and
 * rebalances, whatever the flush timing.
 *
 * The argument, per partition:
 * 1. Before an object for offsets [s..e] is uploaded, its boundary is written as the ledger
 *    entry `o<s>.json` = {end: e, key}, created only if absent. At most one boundary can ever
 *    exist for a start offset, so a time-decided cut becomes a fact before any data exists.
 * 2. Entries are written strictly in sequence: entry s' = e+1 only after object [s..e] is
 *    durable (PutObject returned; PutObject is atomic, so no partial object is ever visible).
 *    Hence every entry except possibly the last names an existing object.
 * 3. On (re)assignment the archiver recovers from S3 alone (`recover`): walk the entries from
 *    the head hint; if the last entry's object exists, resume at e+1; if not, re-read exactly
 *    [s..e] from Kafka and upload it under the recorded key (Kafka offsets are immutable, so the
 *    bytes are the same). Kafka's committed offset is only a progress gauge, never trusted.
 * 4. Offsets are committed to Kafka after the object is durable, never before.
 * So objects of a partition tile its offsets: no overlap (one boundary per start, objects only
 * under recorded boundaries) and no gap (resume = last recorded end + 1).
 *
 * @module
 */
import { headKey, ledgerDir, ledgerKey, parseLedgerKey } from "./key.ts";
import { AlreadyExists, type ObjectStore } from "./store.ts";

/** One ledger entry: the boundary and key of one object. */
export interface LedgerEntry {
  start: string;
  end: string;
  key: string;
  records: number;
  /** Uncompressed bytes. */
  bytes: number;
  firstTimestamp: number;
}

/** Where a partition's archive stands. */
export interface Recovery {
  /** Next offset to archive. */
  next: bigint;
  /** The last recorded entry whose object is missing: re-upload exactly this range first. */
  pending?: LedgerEntry;
  /** The last entry whose object is durable. */
  last?: LedgerEntry;
  /** Entries walked (cost of the recovery). */
  walked: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Thrown when the ledger is inconsistent (e.g. overlapping entries): needs an operator. */
export class LedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LedgerError";
  }
}

const OFFSET = /^\d{1,20}$/;

/**
 * Reads a ledger object and checks its shape (`check` names what is wrong, or returns
 * nothing): an object that is not JSON or lacks a field is a `LedgerError`, never a crash or an
 * endless retry.
 */
async function readJson<T>(
  store: ObjectStore,
  key: string,
  check: (v: Record<string, unknown>) => string | undefined,
): Promise<T | undefined> {
  const body = await store.get(key);
  if (body === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(dec.decode(body));
  } catch (e) {
    throw new LedgerError(`ledger object ${key} is not JSON: ${(e as Error).message}`);
  }
  const problem = typeof v !== "object" || v === null || Array.isArray(v)
    ? "not a JSON object"
    : check(v as Record<string, unknown>);
  if (problem) throw new LedgerError(`ledger object ${key} is unreadable: ${problem}`);
  return v as T;
}

function entryProblem(v: Record<string, unknown>): string | undefined {
  if (typeof v.start !== "string" || !OFFSET.test(v.start)) return "start is not an offset";
  if (typeof v.end !== "string" || !OFFSET.test(v.end)) return "end is not an offset";
  if (BigInt(v.end) < BigInt(v.start)) return "end is before start";
  if (typeof v.key !== "string" || v.key === "") return "key is missing";
  return undefined;
}

function headProblem(v: Record<string, unknown>): string | undefined {
  return typeof v.start === "string" && OFFSET.test(v.start) ? undefined : "start is not an offset";
}

/**
 * Recovers a partition's position from the ledger. `floor` is the first offset Kafka still
 * holds (used only when the ledger is empty).
 */
export async function recover(
  store: ObjectStore,
  prefix: string,
  topic: string,
  partition: number,
  floor = 0n,
): Promise<Recovery> {
  const head = await readJson<{ start: string }>(
    store,
    headKey(prefix, topic, partition),
    headProblem,
  );
  const hint = head ? BigInt(head.start) : undefined;
  const dir = ledgerDir(prefix, topic, partition);
  const startAfter = hint !== undefined && hint > 0n
    ? ledgerKey(prefix, topic, partition, hint - 1n)
    : undefined;
  let last: LedgerEntry | undefined;
  let walked = 0;
  for await (const o of store.list(dir, startAfter)) {
    const start = parseLedgerKey(o.key);
    if (start === undefined) continue;
    const entry = await readJson<LedgerEntry>(store, o.key, entryProblem);
    if (!entry) continue;
    walked++;
    if (last && BigInt(entry.start) <= BigInt(last.end)) {
      throw new LedgerError(
        `ledger of ${topic}/${partition} overlaps: ${last.start}..${last.end} then ${entry.start}..${entry.end}`,
      );
    }
    last = entry;
  }
  if (!last) return { next: floor, walked };
  if (await store.exists(last.key)) return { next: BigInt(last.end) + 1n, last, walked };
  return { next: BigInt(last.start), pending: last, walked };
}

/** Outcome of `reserve`. */
export type Reservation = { ok: true } | { ok: false; existing: LedgerEntry };

/**
 * Records the boundary of the next object, only if no boundary exists for its start. A
 * retried reservation that finds its own identical entry succeeds.
 */
export async function reserve(
  store: ObjectStore,
  prefix: string,
  entry: LedgerEntry & { topic: string; partition: number },
): Promise<Reservation> {
  const { topic, partition, ...body } = entry;
  const key = ledgerKey(prefix, topic, partition, BigInt(entry.start));
  try {
    await store.put(key, enc.encode(JSON.stringify(body)), {
      ifAbsent: true,
      contentType: "application/json",
    });
    return { ok: true };
  } catch (e) {
    if (!(e instanceof AlreadyExists)) throw e;
    const existing = await readJson<LedgerEntry>(store, key, entryProblem);
    if (!existing) throw e;
    if (existing.end === body.end && existing.key === body.key) return { ok: true };
    return { ok: false, existing };
  }
}

/** Moves the head hint to `start` (an entry whose object is durable). Best effort. */
export async function writeHead(
  store: ObjectStore,
  prefix: string,
  topic: string,
  partition: number,
  start: bigint,
): Promise<void> {
  await store.put(
    headKey(prefix, topic, partition),
    enc.encode(JSON.stringify({ start: start.toString() })),
    { contentType: "application/json" },
  );
}

/** Reads every ledger entry of a partition (for `archive-ls` and tests). */
export async function listEntries(
  store: ObjectStore,
  prefix: string,
  topic: string,
  partition: number,
): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const o of store.list(ledgerDir(prefix, topic, partition))) {
    if (parseLedgerKey(o.key) === undefined) continue;
    const e = await readJson<LedgerEntry>(store, o.key, entryProblem);
    if (e) out.push(e);
  }
  return out;
}
