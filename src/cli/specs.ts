/**
 * The spec of every command: name, summary, what it does, and its option table, the one
 * statement of its flags and defaults. `--help` is rendered from here and each command parses
 * its arguments with its table, so nothing here may import module code (only pure
 * constants: the generator's parameter defaults, the CSV kinds, the archive's key prefix).
 *
 * A command flag never repeats a setting flag (`src/config/settings.ts`): the command line
 * hands setting flags to the configuration first, so such a command flag could never be
 * reached. Commands name the settings they read in `settings` instead (e.g. `generate` reads
 * `--rate`, NEXUS_GENERATOR_RATE).
 *
 * @module
 */
import { FILE_KINDS } from "../csv/columns.ts";
import { DEFAULT_SEND_BATCH, DEFAULT_STREAM_PARAMS as P } from "../generator/params.ts";
import { DEFAULT_PREFIX } from "../archiver/key.ts";
import {
  type CommandSpec,
  day,
  fraction,
  integer,
  isoTime,
  matching,
  number,
  oneOf,
  text,
  type ValueType,
} from "./options.ts";

const EXIT = "Exit code: 0 ok, 1 failure, 2 usage or configuration error.";

/** An ISO UTC time with milliseconds, kept as text (the generator's `start`). */
const isoUtcMillis: ValueType<string> = {
  expect: "an ISO UTC time with milliseconds, e.g. 2026-01-01T00:00:00.000Z",
  parse(raw) {
    const t = Date.parse(raw);
    if (!Number.isFinite(t) || new Date(t).toISOString() !== raw) {
      throw new Error("not an ISO UTC time with milliseconds");
    }
    return raw;
  },
};

/** `run`. */
export const runSpec = {
  name: "run",
  summary: "Start the modules chosen by --modules (or NEXUS_MODULES) until Ctrl-C",
  synopsis: "[--modules generator,aggregator,archiver,loader] [settings]",
  about: `Checks Kafka, PostgreSQL and S3 as the modules need them (one clear line and exit 2 on a
problem), applies migrations, starts the modules and stops them gracefully on SIGINT or
SIGTERM (flush, commit, disconnect) within NEXUS_SHUTDOWN_TIMEOUT_MS; a second signal exits
at once.`,
  options: {},
  settings: ["modules", "generatorRate", "loaderPollMs", "shutdownTimeoutMs"],
} satisfies CommandSpec;

/** `migrate`. */
export const migrateSpec = {
  name: "migrate",
  summary: "Apply pending database migrations (safe to run concurrently) and exit",
  synopsis: "[settings]",
  about:
    `Applies each numbered file of migrations/ not yet recorded in nexus_schema_migrations, each
in its own transaction, under an advisory lock.`,
  options: {},
  settings: ["databaseUrl"],
} satisfies CommandSpec;

/** `status`. */
export const statusSpec = {
  name: "status",
  summary: "Show consumer offsets, end offsets and lag per group and partition",
  about: `Per consumer group (NEXUS_AGGREGATOR_GROUP, NEXUS_ARCHIVER_GROUP) and partition of
NEXUS_CLICK_TOPIC: committed offset, end offset and lag; for the aggregator also the offset
and watermark stored in PostgreSQL (consumer_checkpoints), for the archiver the last archived
offset (from the archive bucket's object keys). Lag = end - furthest known position.`,
  options: {
    json: { switch: true, doc: "print the report as JSON" },
  },
  settings: ["clickTopic", "aggregatorGroup", "archiverGroup"],
} satisfies CommandSpec;

/** `generate`. Stream defaults are the generator's own (`DEFAULT_STREAM_PARAMS`). */
export const generateSpec = {
  name: "generate",
  summary: "Generate CSVs (S3) and a deterministic click stream (Kafka) with its manifest",
  about:
    `Generates users/products/orders CSVs (to S3 raw-data under runs/<seed>-<hash>/, and --out DIR)
and a click stream to Kafka, deterministic from --seed, and writes the ground-truth manifest.
Sends as fast as it can unless the --rate setting (NEXUS_GENERATOR_RATE) caps the records/s.
${EXIT}`,
  options: {
    seed: {
      arg: "N",
      type: integer(0, 0xffffffff),
      doc: "seed of every random draw",
      fallback: `${P.seed}; with --live: the current time`,
    },
    events: { arg: "N", type: integer(0), doc: "distinct valid events", fallback: `${P.events}` },
    duration: {
      arg: "S",
      type: number(0),
      doc: "instead of --events: S seconds of simulated event time",
    },
    start: {
      arg: "ISO",
      type: isoUtcMillis,
      doc: "start of simulated event time",
      fallback: `${P.start}; with --live: now`,
    },
    "events-per-second": {
      arg: "N",
      type: number(0, true),
      doc: "simulated event-time density (not the send rate)",
      fallback: `${P.eventsPerSecond}; with --live and --rate: the rate`,
    },
    live: {
      switch: true,
      doc: "event time = now (demo); without --events or --duration, runs until Ctrl-C",
    },
    users: { arg: "N", type: integer(1, 99_999_999), doc: "users", fallback: `${P.users}` },
    products: {
      arg: "N",
      type: integer(1, 9_999_999),
      doc: "products",
      fallback: `${P.products}`,
    },
    orders: { arg: "N", type: integer(0), doc: "orders in orders.csv", fallback: "3 x users" },
    "late-fraction": {
      arg: "F",
      type: fraction,
      doc: "share of valid events emitted late",
      fallback: `${P.lateFraction}`,
    },
    "max-lateness-ms": {
      arg: "N",
      type: integer(1, 86_400_000),
      doc: "lateness is uniform on [1, N] ms",
      fallback: `${P.maxLatenessMs}`,
    },
    "duplicate-fraction": {
      arg: "F",
      type: fraction,
      doc: "extra re-sent copies per valid event",
      fallback: `${P.duplicateFraction}`,
    },
    "malformed-fraction": {
      arg: "F",
      type: fraction,
      doc: "extra malformed records per valid event",
      fallback: `${P.malformedFraction}`,
    },
    topic: {
      arg: "NAME",
      type: text,
      doc: "target topic (created when missing)",
      fallback: "NEXUS_CLICK_TOPIC",
    },
    "batch-size": {
      arg: "N",
      type: integer(1),
      doc: "messages per send",
      default: String(DEFAULT_SEND_BATCH),
    },
    manifest: { arg: "PATH", type: text, doc: "also write the manifest to PATH" },
    "dry-run": { switch: true, doc: "compute the manifest only: no Kafka, no S3" },
    "csv-only": { switch: true, doc: "only the CSVs (no stream)" },
    "no-csv": { switch: true, doc: "only the stream (no CSVs)" },
    out: { arg: "DIR", type: text, doc: "also write the CSVs into DIR" },
  },
  settings: ["generatorRate", "partitions", "clickTopic", "rawBucket"],
} satisfies CommandSpec;

/** `load`. */
export const loadSpec = {
  name: "load",
  summary: "Load a run's users/products/orders CSVs (S3 or local) into the star schema",
  synopsis: "(--prefix runs/<id> | --from DIR | --file PATH --kind KIND) [flags] [settings]",
  about:
    `Loads users.csv, products.csv and orders.csv (in that order) into dim_users, dim_products and
fact_orders through staging tables and MERGE. Bad rows go to load_rejects with the reason;
good rows still load. Loading the same files again changes nothing.
${EXIT}`,
  options: {
    prefix: {
      arg: "P",
      type: text,
      doc: "run prefix in the raw bucket (NEXUS_RAW_BUCKET), e.g. runs/7-1a2b3c4d",
    },
    from: { arg: "DIR", type: text, doc: "local directory holding the CSVs instead" },
    file: { arg: "PATH", type: text, doc: "one local file ..." },
    kind: {
      arg: "KIND",
      type: oneOf(FILE_KINDS),
      doc: `... of this kind: ${FILE_KINDS.join(", ")}`,
    },
    "chunk-rows": { arg: "N", type: integer(1), doc: "rows per transaction", default: "5000" },
    "no-migrate": { switch: true, doc: "do not apply pending migrations first" },
  },
  settings: ["rawBucket", "databaseUrl"],
} satisfies CommandSpec;

/** `rebuild`. */
export const rebuildSpec = {
  name: "rebuild",
  summary: "Recompute all windows from Kafka into a separate schema and compare with live",
  about: `Recomputes every minute window of the click topic from the earliest retained offset up to
the aggregator's stored checkpoints, into <schema>.minute_totals, and compares the totals
per (window, action) with the live tables (window_partials + late_events).
Exit code: 0 equal, 1 differences, 2 usage or service error.`,
  options: {
    topic: { arg: "NAME", type: text, doc: "topic to rebuild", fallback: "NEXUS_CLICK_TOPIC" },
    schema: {
      arg: "NAME",
      type: matching(/^[a-z_][a-z0-9_]{0,62}$/, "a plain lower-case name"),
      doc: "schema for the rebuilt tables",
      default: "aggregator_rebuild",
    },
    "max-diffs": { arg: "N", type: integer(0), doc: "differences printed", default: "50" },
    "timeout-ms": { arg: "MS", type: integer(1000), doc: "longest replay", default: "300000" },
  },
  settings: ["clickTopic", "databaseUrl"],
} satisfies CommandSpec;

/** The archive-reading flags of `verify`, `backfill` and `archive-ls`. */
const SCAN = {
  topic: { arg: "NAME", type: text, doc: "archived topic", fallback: "NEXUS_CLICK_TOPIC" },
  prefix: {
    arg: "P",
    type: text,
    doc: "key prefix in the archive bucket",
    default: DEFAULT_PREFIX,
  },
  "scan-dt-from": {
    arg: "DAY",
    type: day,
    doc: "only read objects whose dt (record-time day) >= DAY (YYYY-MM-DD)",
  },
  "scan-dt-to": {
    arg: "DAY",
    type: day,
    doc: "... and <= DAY (both needed; default: the whole topic)",
  },
} as const;

const ARCHIVE_SETTINGS = ["clickTopic", "archiveBucket"] as const;

/** `verify`. */
export const verifySpec = {
  name: "verify",
  summary: "Recompute per-minute counts from the archive and compare with PostgreSQL",
  synopsis: "--from ISO --to ISO [flags] [settings]",
  about:
    `Recomputes per-minute counts (validateRecord, one count per event_id, window = event minute)
from the raw archive and compares them with action_counts_minute + revenue_minute + late_events.
Prints every differing window (window, metric, archive, postgres); exits 1 on any mismatch.`,
  options: {
    from: { arg: "ISO", type: isoTime, doc: "first window start included", required: true },
    to: { arg: "ISO", type: isoTime, doc: "windows starting before this", required: true },
    ...SCAN,
  },
  settings: [...ARCHIVE_SETTINGS, "databaseUrl"],
} satisfies CommandSpec;

/** `backfill`. */
export const backfillSpec = {
  name: "backfill",
  summary: "Re-publish archived records of an event-time range to a topic",
  synopsis: "--from ISO --to ISO --to-topic NAME [flags] [settings]",
  about: `Reads the archive and re-publishes, byte-exact with their keys and timestamps, the valid
records whose event time is in [from, to) (duplicates included: the aggregator de-duplicates)
to --to-topic, e.g. for an aggregator started with NEXUS_CLICK_TOPIC=NAME after Kafka's
retention dropped the originals.`,
  options: {
    from: { arg: "ISO", type: isoTime, doc: "event time from (inclusive)", required: true },
    to: { arg: "ISO", type: isoTime, doc: "event time to (exclusive)", required: true },
    "to-topic": {
      arg: "NAME",
      type: text,
      doc: "destination topic (created when missing; must differ from --topic)",
      required: true,
    },
    "include-malformed": {
      switch: true,
      doc: "also re-publish malformed records whose record time is in range",
    },
    "dry-run": { switch: true, doc: "count only" },
    ...SCAN,
  },
  settings: [...ARCHIVE_SETTINGS, "partitions"],
} satisfies CommandSpec;

/** `archive-ls`. */
export const archiveLsSpec = {
  name: "archive-ls",
  summary: "List archived objects per partition and check they tile the offsets",
  about: "Lists the archive per partition: objects, offset ranges, gaps and overlaps (exit 1).",
  options: {
    partition: { arg: "N", type: integer(0), doc: "only this partition" },
    objects: { switch: true, doc: "print every object key and size" },
    ...SCAN,
  },
  settings: ARCHIVE_SETTINGS,
} satisfies CommandSpec;
