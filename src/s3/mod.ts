/**
 * S3 access: the client factory and start-up check.
 *
 * @module
 */
export * from "./client.ts";
