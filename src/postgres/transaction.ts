/**
 * Transactions that survive their connection dying mid-way.
 *
 * postgres.js 3.4 (`sql.begin`, `tx.savepoint`) answers an error inside a transaction with a
 * `rollback` on the same connection. When the error is the connection closing (the server
 * restarting, a network reset), that `rollback` is written to a connection that has no socket
 * any more, from a `setImmediate` callback: an uncaught `TypeError: Cannot read properties of
 * null (reading 'write')` that no `try`/`catch` sees and that ends the whole process
 * (porsager/postgres#1154 and #1208, open; reproduced here by restarting PostgreSQL under
 * concurrent transactions, `tests/postgres_restart_test.ts`).
 *
 * `transaction` and `savepoint` keep postgres.js from ever writing that `rollback`: when a
 * statement fails because the connection is gone, the transaction body neither returns nor
 * throws. `sql.begin` already rejects on its own once the connection closes (it races the body
 * against the connection's close), with `CONNECTION_CLOSED`, which callers classify as
 * transient and retry on a fresh connection. Errors of a live connection (SQL errors, a
 * constraint, a fenced compare-and-set) roll back exactly as before.
 *
 * @module
 */
import type { Sql, TransactionSql } from "./client.ts";

/** postgres.js error codes of a connection that is gone (the statement never completed). */
const GONE = new Set(["CONNECTION_CLOSED", "CONNECTION_ENDED", "CONNECTION_DESTROYED"]);

/** True when `e` says the statement's connection is gone (closed, ended or destroyed). */
export function connectionGone(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && GONE.has(code);
}

/** `body`'s result; never settles when it failed because the connection is gone. */
function shielded<T>(body: Promise<T>): Promise<T> {
  return body.catch((e) => connectionGone(e) ? new Promise<T>(() => {}) : Promise.reject(e));
}

/**
 * Runs `fn` in one transaction (`sql.begin`): committed when it resolves, rolled back when it
 * throws. Rejects with postgres.js's `CONNECTION_CLOSED` when the connection dies meanwhile —
 * without the process-ending `rollback` described above.
 */
export async function transaction<T>(
  sql: Sql,
  fn: (tx: TransactionSql) => Promise<T>,
): Promise<T> {
  return await sql.begin((tx) => shielded(fn(tx))) as T;
}

/**
 * Runs `fn` in a savepoint of `tx`: released when it resolves, rolled back to when it throws
 * (the transaction goes on). Like `transaction`, it never writes a rollback to a connection
 * that is gone: the enclosing `transaction` then rejects.
 */
export async function savepoint<T>(
  tx: TransactionSql,
  fn: (sp: TransactionSql) => Promise<T>,
): Promise<T> {
  return await tx.savepoint((sp) => shielded(fn(sp))) as T;
}
