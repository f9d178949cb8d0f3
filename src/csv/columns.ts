/**
 * The batch CSV contract between the generator (which writes the files) and the loader
 * (which reads them): the three kinds of file, in load order, and each one's columns.
 *
 * @module
 */

/** The kinds of file, in load order (dimensions before facts). */
export const FILE_KINDS = ["users", "products", "orders"] as const;
/** One kind of file. */
export type FileKind = typeof FILE_KINDS[number];

/** The columns of each kind: the header holds each of them (the loader accepts any order). */
export const COLUMNS: Record<FileKind, readonly string[]> = {
  users: ["user_id", "name", "email", "country", "signup_at"],
  products: ["product_id", "name", "category", "price", "created_at"],
  orders: [
    "order_id",
    "line_no",
    "user_id",
    "product_id",
    "quantity",
    "unit_price",
    "line_total",
    "order_total",
    "ordered_at",
    "status",
  ],
};
