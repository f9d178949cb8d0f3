/**
 * The generator: deterministic users/products/orders CSVs and a click stream with late
 * events, duplicates and malformed records, plus the ground-truth manifest of the stream.
 * See docs/generator.md.
 *
 * @module
 */
export {
  canonicalParams,
  checkStreamParams,
  DEFAULT_STREAM_PARAMS,
  defaultStreamParams,
  paramsHash,
  runId,
  type StreamParams,
} from "./params.ts";
export { type GeneratedRecord, generateStream, type StreamOptions } from "./stream.ts";
export {
  computeManifest,
  type Manifest,
  ManifestBuilder,
  manifestJson,
  type MinuteCounts,
} from "./manifest.ts";
export {
  createProducer,
  ensureClickTopic,
  type ProduceOptions,
  produceStream,
  sendRecords,
} from "./produce.ts";
export { CSV_COLUMNS, CSV_FILES, csvChunks, type CsvFile, type CsvParams, csvText } from "./csv.ts";
export { formatCents, productId, userId } from "./catalog.ts";
export { csvParamsOf, runPrefix, uploadCsvFiles, uploadManifest, writeCsvFiles } from "./output.ts";
export { generateCommand, generatorCommands, parseGenerateArgs, runGenerate } from "./cli.ts";
export { liveRate, startGenerator } from "./module.ts";
