/**
 * The archiver: an exactly-once, time-partitioned raw archive of the click topic in S3
 * (gzip NDJSON), plus `verify`, `backfill` and `archive-ls`. See docs/archiver.md.
 *
 * @module
 */
export { type ArchiverOptions, createArchiver, openArchiveStore, startArchiver } from "./module.ts";
export { archiverCommands, runArchiveLs, runBackfill, runVerify } from "./commands.ts";
export * from "./key.ts";
export {
  type ArchivedRecord,
  type ArchiveLine,
  decodeObject,
  type RawRecord,
  toLine,
} from "./encode.ts";
export { type LedgerEntry, listEntries, recover } from "./ledger.ts";
export {
  type ArchiveObject,
  checkTiling,
  listArchive,
  readObject,
  readRecords,
  type TilingProblem,
} from "./read.ts";
export { type ObjectStore, S3Store } from "./store.ts";
export { archiveTruth, compareTruth, postgresCounts } from "./verify.ts";
