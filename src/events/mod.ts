/**
 * The click-event contract: types, the JSON Schema, and the shared validator.
 *
 * @module
 */
export * from "./event.ts";
export * from "./validate.ts";
export * from "./scan.ts";
export * from "./revenue.ts";
