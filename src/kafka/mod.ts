/**
 * Kafka access: the client factory, start-up checks and topic helpers.
 *
 * @module
 */
export * from "./client.ts";
export * from "./warnings.ts";
