/**
 * Row validation of the three CSV files: header, column count, required fields and types.
 * References (an order's user and product) are checked in SQL against the dimensions.
 *
 * @module
 */

import { COLUMNS, FILE_KINDS, type FileKind } from "../csv/columns.ts";

export { COLUMNS, FILE_KINDS, type FileKind };

/** Columns that may be empty. */
const OPTIONAL: Record<FileKind, readonly string[]> = {
  users: ["country"],
  products: [],
  orders: [],
};

/** The key columns of each kind. */
export const KEYS: Record<FileKind, readonly string[]> = {
  users: ["user_id"],
  products: ["product_id"],
  orders: ["order_id", "line_no"],
};

/** A validated row: the canonical string values by column. */
export type Row = Record<string, string>;

/** Result of validating one record. */
export type RowCheck = { ok: true; row: Row } | { ok: false; reason: string };

/** Maps header names to positions; throws when a column is missing or repeated. */
export function headerIndex(kind: FileKind, header: string[]): Map<string, number> {
  const idx = new Map<string, number>();
  header.forEach((h, i) => {
    const name = h.trim().replace(/^\uFEFF/, "");
    if (idx.has(name)) throw new Error(`column "${name}" appears twice in the header`);
    idx.set(name, i);
  });
  const missing = COLUMNS[kind].filter((c) => !idx.has(c));
  if (missing.length) {
    throw new Error(
      `the header lacks column(s) ${missing.join(", ")}; expected ${COLUMNS[kind].join(",")}`,
    );
  }
  return idx;
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/;
const DECIMAL = /^\d{1,12}(\.\d{1,2})?$/;
const INT = /^\d{1,9}$/;
const ID = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Cents of a decimal string that matched DECIMAL. */
export function toCents(s: string): number {
  const [whole, frac = ""] = s.split(".");
  return Number(whole) * 100 + Number(frac.padEnd(2, "0"));
}

function typeChecks(kind: FileKind, r: Row): string | undefined {
  const bad = (col: string, what: string) =>
    `bad type: ${col} ${JSON.stringify(r[col])} is not ${what}`;
  const id = (
    col: string,
  ) => (ID.test(r[col]!) ? undefined : bad(col, "an id ([A-Za-z0-9_.:-], 1-64)"));
  const ts = (
    col: string,
  ) => (ISO.test(r[col]!) && Number.isFinite(Date.parse(r[col]!))
    ? undefined
    : bad(col, "an ISO-8601 timestamp with a zone"));
  const dec = (
    col: string,
  ) => (DECIMAL.test(r[col]!) ? undefined : bad(col, "a decimal >= 0 with at most 2 places"));
  const int = (
    col: string,
  ) => (INT.test(r[col]!) && Number(r[col]) >= 1 ? undefined : bad(col, "an integer >= 1"));
  switch (kind) {
    case "users":
      return id("user_id") ?? ts("signup_at") ??
        (/^[^@\s]+@[^@\s]+$/.test(r.email!) ? undefined : bad("email", "an e-mail address")) ??
        (r.country === "" || /^[A-Z]{2}$/.test(r.country!)
          ? undefined
          : bad("country", "a 2-letter country code"));
    case "products":
      return id("product_id") ?? dec("price") ?? ts("created_at");
    case "orders": {
      const e = id("order_id") ?? int("line_no") ?? id("user_id") ?? id("product_id") ??
        int("quantity") ?? dec("unit_price") ?? dec("line_total") ?? dec("order_total") ??
        ts("ordered_at");
      if (e) return e;
      if (toCents(r.line_total!) !== toCents(r.unit_price!) * Number(r.quantity)) {
        return `inconsistent: line_total ${r.line_total} is not quantity ${r.quantity} x unit_price ${r.unit_price}`;
      }
      return undefined;
    }
  }
}

/** Validates one parsed record against the header index. */
export function checkRow(kind: FileKind, idx: Map<string, number>, fields: string[]): RowCheck {
  if (fields.length !== idx.size) {
    return {
      ok: false,
      reason: `malformed CSV line: ${fields.length} fields, expected ${idx.size}`,
    };
  }
  const row: Row = {};
  for (const col of COLUMNS[kind]) {
    const v = (fields[idx.get(col)!] ?? "").trim();
    if (v === "" && !OPTIONAL[kind].includes(col)) {
      return { ok: false, reason: `missing required field: ${col}` };
    }
    row[col] = v;
  }
  const err = typeChecks(kind, row);
  return err ? { ok: false, reason: err } : { ok: true, row };
}

/** The key of a validated row, for in-chunk de-duplication (last occurrence wins). */
export function keyOf(kind: FileKind, row: Row): string {
  return KEYS[kind].map((k) => row[k]).join("\u0000");
}

/** The kind of a file from its name (users.csv → users), or undefined. */
export function kindOfFile(name: string): FileKind | undefined {
  const base = name.split("/").pop()!.toLowerCase();
  for (const k of FILE_KINDS) {
    if (base === `${k}.csv` || base.startsWith(`${k}_`) || base.startsWith(`${k}.`)) return k;
  }
  return undefined;
}
