/**
 * The three CSV files of a run (users.csv, products.csv, orders.csv), rendered with
 * csv-stringify in chunks so arbitrarily large files never sit in memory at once.
 *
 * @module
 */
import { stringify } from "csv-stringify/sync";
import {
  formatCents,
  generateOrders,
  generateProducts,
  generateUsers,
  type OrderLineRow,
  type ProductRow,
  type UserRow,
} from "./catalog.ts";
import { COLUMNS } from "../csv/columns.ts";

/** What the CSV files depend on. */
export interface CsvParams {
  seed: number;
  users: number;
  products: number;
  orders: number;
  /** Start of simulated time; signups, products and orders all precede it. */
  start: string;
}

/** The CSV file names. */
export const CSV_FILES = ["users.csv", "products.csv", "orders.csv"] as const;
/** One CSV file name. */
export type CsvFile = typeof CSV_FILES[number];

/** Header of each file: the columns of the CSV contract (`src/csv/columns.ts`). */
export const CSV_COLUMNS: Record<CsvFile, readonly string[]> = {
  "users.csv": COLUMNS.users,
  "products.csv": COLUMNS.products,
  "orders.csv": COLUMNS.orders,
};

const userCells = (u: UserRow) => [u.user_id, u.name, u.email, u.country, u.signup_at];
const productCells = (p: ProductRow) => [
  p.product_id,
  p.name,
  p.category,
  formatCents(p.priceCents),
  p.created_at,
];
const orderCells = (o: OrderLineRow) => [
  o.order_id,
  String(o.line_no),
  o.user_id,
  o.product_id,
  String(o.quantity),
  formatCents(o.unitPriceCents),
  formatCents(o.lineTotalCents),
  formatCents(o.orderTotalCents),
  o.ordered_at,
  o.status,
];

function* rowsOf(file: CsvFile, p: CsvParams): Generator<string[]> {
  if (file === "users.csv") {
    for (const u of generateUsers(p.seed, p.users, p.start)) yield userCells(u);
  } else if (file === "products.csv") {
    for (const x of generateProducts(p.seed, p.products, p.start)) yield productCells(x);
  } else {
    for (const o of generateOrders(p.seed, p.orders, p.users, p.products, p.start)) {
      yield orderCells(o);
    }
  }
}

/**
 * The text of one CSV file as chunks of up to `chunkRows` rows (the header comes first).
 * Concatenated, the chunks are the file; the same params always give the same bytes.
 */
export function* csvChunks(file: CsvFile, p: CsvParams, chunkRows = 5000): Generator<string> {
  yield stringify([CSV_COLUMNS[file] as string[]], { eof: true, record_delimiter: "unix" });
  let batch: string[][] = [];
  for (const row of rowsOf(file, p)) {
    batch.push(row);
    if (batch.length >= chunkRows) {
      yield stringify(batch, { eof: true, record_delimiter: "unix" });
      batch = [];
    }
  }
  if (batch.length) yield stringify(batch, { eof: true, record_delimiter: "unix" });
}

/** A whole CSV file as one string (tests and small runs). */
export function csvText(file: CsvFile, p: CsvParams): string {
  return [...csvChunks(file, p)].join("");
}
