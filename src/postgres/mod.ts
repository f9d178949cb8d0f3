/**
 * PostgreSQL access: client factory, start-up check and migrations.
 *
 * @module
 */
export * from "./client.ts";
export * from "./migrate.ts";
export * from "./errors.ts";
export * from "./transaction.ts";
