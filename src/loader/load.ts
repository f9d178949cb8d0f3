/**
 * Loading one CSV file: streamed, split into records and parsed with csv-parse in chunks
 * (memory does not grow with the file), each chunk validated, staged in a temporary table and MERGEd into its dimension or
 * fact table in one transaction, with its bad rows written to load_rejects.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import type postgres from "postgres";
import { type Sql, transaction } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import { parseRecords, type RawRecord, RecordSplitter } from "./records.ts";
import { checkRow, type FileKind, headerIndex, keyOf, type Row } from "./validate.ts";

/** Figures of one file load. */
export interface LoadStats {
  file: string;
  kind: FileKind;
  rowsRead: number;
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
  /** sha256 of the file's bytes. */
  sha256: string;
  /** False when this exact content was loaded before (nothing changed). */
  firstLoad: boolean;
}

/** A rejected line. */
export interface Reject {
  line: number;
  raw: string;
  reason: string;
}

/** Options of `loadCsv`. */
export interface LoadOptions {
  /** Rows per transaction (default 5000). */
  chunkRows?: number;
  /** S3 ETag, recorded in load_files. */
  etag?: string;
}

type Tx = postgres.TransactionSql;

async function insertRejects(tx: Tx, file: string, rejects: Reject[]): Promise<void> {
  if (rejects.length === 0) return;
  await tx`
    insert into load_rejects (file, line_number, raw_line, raw_hash, reason)
    select ${file}, r.line::int, r.raw, md5(r.raw), r.reason
    from unnest(${tx.array(rejects.map((r) => String(r.line)))}::text[],
                ${tx.array(rejects.map((r) => r.raw))}::text[],
                ${tx.array(rejects.map((r) => r.reason))}::text[]) as r(line, raw, reason)
    on conflict (file, line_number, raw_hash) do nothing`;
}

interface Counts {
  inserted: number;
  updated: number;
  unchanged: number;
  rejected: number;
}

const col = (rows: { row: Row }[], c: string) => rows.map((r) => r.row[c] ?? "");

async function mergeUsers(tx: Tx, file: string, rows: { row: Row }[]): Promise<Counts> {
  await tx`create temp table stg_users (
    user_id text, name text, email text, country text, signup_at timestamptz) on commit drop`;
  await tx`insert into stg_users
    select u.id, u.name, u.email, nullif(u.country, ''), u.signup::timestamptz
    from unnest(${tx.array(col(rows, "user_id"))}::text[], ${tx.array(col(rows, "name"))}::text[],
                ${tx.array(col(rows, "email"))}::text[], ${tx.array(col(rows, "country"))}::text[],
                ${
    tx.array(col(rows, "signup_at"))
  }::text[]) as u(id, name, email, country, signup)`;
  const [c] = await tx<{ inserted: string; updated: string }[]>`
    select count(*) filter (where d.user_id is null) as inserted,
           count(*) filter (where d.user_id is not null and
             (d.name, d.email, d.country, d.signup_at) is distinct from
             (s.name, s.email, s.country, s.signup_at)) as updated
    from stg_users s left join dim_users d using (user_id)`;
  await tx`
    merge into dim_users d using stg_users s on d.user_id = s.user_id
    when matched and (d.name, d.email, d.country, d.signup_at) is distinct from
                     (s.name, s.email, s.country, s.signup_at) then
      update set name = s.name, email = s.email, country = s.country, signup_at = s.signup_at,
                 source_file = ${file}, updated_at = now()
    when not matched then
      insert (user_id, name, email, country, signup_at, source_file)
      values (s.user_id, s.name, s.email, s.country, s.signup_at, ${file})`;
  return counts(rows.length, c!);
}

async function mergeProducts(tx: Tx, file: string, rows: { row: Row }[]): Promise<Counts> {
  await tx`create temp table stg_products (
    product_id text, name text, category text, price numeric(14,2), created_at timestamptz)
    on commit drop`;
  await tx`insert into stg_products
    select p.id, p.name, p.category, p.price::numeric(14,2), p.created::timestamptz
    from unnest(${tx.array(col(rows, "product_id"))}::text[], ${
    tx.array(col(rows, "name"))
  }::text[],
                ${tx.array(col(rows, "category"))}::text[], ${tx.array(col(rows, "price"))}::text[],
                ${
    tx.array(col(rows, "created_at"))
  }::text[]) as p(id, name, category, price, created)`;
  const [c] = await tx<{ inserted: string; updated: string }[]>`
    select count(*) filter (where d.product_id is null) as inserted,
           count(*) filter (where d.product_id is not null and
             (d.name, d.category, d.price, d.created_at) is distinct from
             (s.name, s.category, s.price, s.created_at)) as updated
    from stg_products s left join dim_products d using (product_id)`;
  await tx`
    merge into dim_products d using stg_products s on d.product_id = s.product_id
    when matched and (d.name, d.category, d.price, d.created_at) is distinct from
                     (s.name, s.category, s.price, s.created_at) then
      update set name = s.name, category = s.category, price = s.price,
                 created_at = s.created_at, source_file = ${file}, updated_at = now()
    when not matched then
      insert (product_id, name, category, price, created_at, source_file)
      values (s.product_id, s.name, s.category, s.price, s.created_at, ${file})`;
  return counts(rows.length, c!);
}

async function mergeOrders(
  tx: Tx,
  file: string,
  rows: { row: Row; line: number; raw: string }[],
): Promise<Counts> {
  await tx`create temp table stg_orders (
    line_number int, raw_line text, order_id text, line_no int, user_id text, product_id text,
    quantity int, unit_price numeric(14,2), line_total numeric(14,2),
    order_total numeric(14,2), ordered_at timestamptz, status text) on commit drop`;
  await tx`insert into stg_orders
    select o.ln::int, o.raw, o.oid, o.lno::int, o.uid, o.pid, o.qty::int,
           o.up::numeric(14,2), o.lt::numeric(14,2), o.ot::numeric(14,2),
           o.at::timestamptz, o.st
    from unnest(${tx.array(rows.map((r) => String(r.line)))}::text[],
                ${tx.array(rows.map((r) => r.raw))}::text[],
                ${tx.array(col(rows, "order_id"))}::text[], ${
    tx.array(col(rows, "line_no"))
  }::text[],
                ${tx.array(col(rows, "user_id"))}::text[], ${
    tx.array(col(rows, "product_id"))
  }::text[],
                ${tx.array(col(rows, "quantity"))}::text[], ${
    tx.array(col(rows, "unit_price"))
  }::text[],
                ${tx.array(col(rows, "line_total"))}::text[], ${
    tx.array(col(rows, "order_total"))
  }::text[],
                ${tx.array(col(rows, "ordered_at"))}::text[], ${
    tx.array(col(rows, "status"))
  }::text[])
         as o(ln, raw, oid, lno, uid, pid, qty, up, lt, ot, at, st)`;
  // Reference checks against the dimensions: such rows are rejected, not loaded.
  const bad = await tx<{ line_number: number }[]>`
    with refs as (
      select s.line_number, s.raw_line,
             concat_ws('; ',
               case when u.user_id is null then 'unknown user reference: ' || s.user_id end,
               case when p.product_id is null then 'unknown product reference: ' || s.product_id end
             ) as reason
      from stg_orders s
      left join dim_users u on u.user_id = s.user_id
      left join dim_products p on p.product_id = s.product_id
      where u.user_id is null or p.product_id is null
    ), ins as (
      insert into load_rejects (file, line_number, raw_line, raw_hash, reason)
      select ${file}, line_number, raw_line, md5(raw_line), reason from refs
      on conflict (file, line_number, raw_hash) do nothing
    )
    select line_number from refs`;
  if (bad.length) {
    await tx`delete from stg_orders where line_number = any(${
      tx.array(bad.map((b) => String(b.line_number)))
    }::text[]::int[])`;
  }
  const [c] = await tx<{ inserted: string; updated: string }[]>`
    select count(*) filter (where f.order_id is null) as inserted,
           count(*) filter (where f.order_id is not null and
             (f.user_id, f.product_id, f.quantity, f.unit_price, f.line_total, f.order_total,
              f.ordered_at, f.status) is distinct from
             (s.user_id, s.product_id, s.quantity, s.unit_price, s.line_total, s.order_total,
              s.ordered_at, s.status)) as updated
    from stg_orders s left join fact_orders f using (order_id, line_no)`;
  await tx`
    merge into fact_orders f using stg_orders s
      on f.order_id = s.order_id and f.line_no = s.line_no
    when matched and
      (f.user_id, f.product_id, f.quantity, f.unit_price, f.line_total, f.order_total,
       f.ordered_at, f.status) is distinct from
      (s.user_id, s.product_id, s.quantity, s.unit_price, s.line_total, s.order_total,
       s.ordered_at, s.status) then
      update set user_id = s.user_id, product_id = s.product_id, quantity = s.quantity,
                 unit_price = s.unit_price, line_total = s.line_total,
                 order_total = s.order_total, ordered_at = s.ordered_at, status = s.status,
                 source_file = ${file}, updated_at = now()
    when not matched then
      insert (order_id, line_no, user_id, product_id, quantity, unit_price, line_total,
              order_total, ordered_at, status, source_file)
      values (s.order_id, s.line_no, s.user_id, s.product_id, s.quantity, s.unit_price,
              s.line_total, s.order_total, s.ordered_at, s.status, ${file})`;
  const out = counts(rows.length - bad.length, c!);
  out.rejected = bad.length;
  return out;
}

function counts(n: number, c: { inserted: string; updated: string }): Counts {
  const inserted = Number(c.inserted), updated = Number(c.updated);
  return { inserted, updated, unchanged: n - inserted - updated, rejected: 0 };
}

/**
 * Loads one CSV file of `kind` from `input` (a byte stream) into the star schema.
 * `file` names it in load_rejects and load_files (e.g. s3://raw-data/runs/x/users.csv).
 *
 * @throws {Error} when the header is missing required columns or the input fails.
 */
export async function loadCsv(
  sql: Sql,
  kind: FileKind,
  file: string,
  input: Readable,
  options: LoadOptions = {},
): Promise<LoadStats> {
  const chunkRows = options.chunkRows ?? 5000;
  const hash = createHash("sha256");
  const stats: LoadStats = {
    file,
    kind,
    rowsRead: 0,
    inserted: 0,
    updated: 0,
    unchanged: 0,
    rejected: 0,
    sha256: "",
    firstLoad: true,
  };
  let idx: Map<string, number> | undefined;

  const flush = async (batch: RawRecord[]) => {
    const good = new Map<string, { row: Row; line: number; raw: string }>();
    const bad: Reject[] = [];
    for (const rec of parseRecords(batch)) {
      if (!idx) {
        if ("error" in rec) throw new Error(`the header line is not CSV: ${rec.error}`);
        idx = headerIndex(kind, rec.fields);
        continue;
      }
      stats.rowsRead++;
      const check = "error" in rec
        ? { ok: false as const, reason: rec.error }
        : checkRow(kind, idx, rec.fields);
      if (!check.ok) {
        bad.push({ line: rec.line, raw: rec.raw, reason: check.reason });
      } else {
        const key = keyOf(kind, check.row);
        good.delete(key); // the last occurrence of a key wins, in file order
        good.set(key, { row: check.row, line: rec.line, raw: rec.raw });
      }
    }
    if (good.size === 0 && bad.length === 0) return;
    const rows = [...good.values()];
    const c = await transaction(sql, async (tx) => {
      await insertRejects(tx, file, bad);
      if (rows.length === 0) return { inserted: 0, updated: 0, unchanged: 0, rejected: 0 };
      if (kind === "users") return await mergeUsers(tx, file, rows);
      if (kind === "products") return await mergeProducts(tx, file, rows);
      return await mergeOrders(tx, file, rows);
    });
    stats.inserted += c.inserted;
    stats.updated += c.updated;
    stats.unchanged += c.unchanged;
    stats.rejected += c.rejected + bad.length;
  };

  const splitter = new RecordSplitter();
  const decoder = new TextDecoder("utf-8");
  let batch: RawRecord[] = [];
  try {
    for await (const chunk of input as AsyncIterable<Uint8Array | string>) {
      const bytes = typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk;
      hash.update(bytes);
      splitter.push(decoder.decode(bytes, { stream: true }), batch);
      if (batch.length >= chunkRows) {
        await flush(batch);
        batch = [];
      }
    }
    splitter.push(decoder.decode(), batch);
    splitter.end(batch);
    while (batch.length > 0) {
      const part = batch.splice(0, chunkRows);
      await flush(part);
    }
  } catch (e) {
    input.destroy();
    throw new Error(`Cannot load ${file}: ${reasonOf(e)}`, { cause: e });
  }
  if (!idx) throw new Error(`Cannot load ${file}: the file is empty (no header line)`);
  stats.sha256 = hash.digest("hex");
  const ins = await sql`
    insert into load_files (file, content_sha256, etag, kind, rows_read, inserted, updated,
                            unchanged, rejected)
    values (${file}, ${stats.sha256}, ${options.etag ?? null}, ${kind}, ${stats.rowsRead},
            ${stats.inserted}, ${stats.updated}, ${stats.unchanged}, ${stats.rejected})
    on conflict (file, content_sha256) do nothing`;
  stats.firstLoad = ins.count === 1;
  return stats;
}
