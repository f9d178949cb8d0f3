/**
 * Configuration: one resolver (flag > environment > default) over one settings table.
 *
 * @module
 */
export * from "./config.ts";
export * from "./settings.ts";
