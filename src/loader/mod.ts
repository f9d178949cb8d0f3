/**
 * The batch loader: users/products/orders CSVs → dim_users, dim_products, fact_orders (star
 * schema of migrations/0002_star_schema.sql), bad rows → load_rejects. See docs/loader.md.
 *
 * @module
 */
export { loadCsv, type LoadOptions, type LoadStats, type Reject } from "./load.ts";
export { type CsvSource, listRunPrefixes, localFile, localSources, s3Sources } from "./source.ts";
export {
  checkRow,
  COLUMNS,
  FILE_KINDS,
  type FileKind,
  headerIndex,
  kindOfFile,
  type RowCheck,
} from "./validate.ts";
export { type LoadArgs, loadCommand, loaderCommands, loadSources, parseLoadArgs } from "./cli.ts";
export { loadNewRuns, startLoader } from "./module.ts";
