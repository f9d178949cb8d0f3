/**
 * The `load` command: loads a run's CSVs (from S3 or a local directory) into the star schema.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { createSql, migrate, postgresError, type Sql } from "../postgres/mod.ts";
import { checkS3, createS3 } from "../s3/mod.ts";
import type { Command, ModuleContext } from "../runtime/module.ts";
import { loadCsv, type LoadStats } from "./load.ts";
import { type CsvSource, localFile, localSources, s3Sources } from "./source.ts";
import { FILE_KINDS, type FileKind } from "./validate.ts";

const USAGE =
  `nexus load (--prefix runs/<id> | --from DIR | --file PATH --kind KIND) [flags] [settings]

Loads users.csv, products.csv and orders.csv (in that order) into dim_users, dim_products and
fact_orders through staging tables and MERGE. Bad rows go to load_rejects with the reason;
good rows still load. Loading the same files again changes nothing.

  --prefix P        run prefix in the raw bucket (NEXUS_RAW_BUCKET), e.g. runs/7-1a2b3c4d
  --from DIR        local directory holding the CSVs instead
  --file PATH       one local file ...
  --kind KIND       ... of this kind: users, products or orders
  --chunk-rows N    rows per transaction [5000]
  --no-migrate      do not apply pending migrations first`;

/** Parsed `load` options. */
export interface LoadArgs {
  prefix?: string;
  from?: string;
  file?: string;
  kind?: FileKind;
  chunkRows: number;
  migrate: boolean;
}

/** A `load` usage error (one line naming the flag). */
export class LoadUsageError extends Error {
  override name = "LoadUsageError";
}

/** Parses the `load` arguments. @throws {LoadUsageError} */
export function parseLoadArgs(args: string[]): LoadArgs {
  let v;
  try {
    v = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        prefix: { type: "string" },
        from: { type: "string" },
        file: { type: "string" },
        kind: { type: "string" },
        "chunk-rows": { type: "string" },
        "no-migrate": { type: "boolean" },
      },
    }).values;
  } catch (e) {
    throw new LoadUsageError(`Cannot parse load arguments: ${(e as Error).message.split("\n")[0]}`);
  }
  const given = [v.prefix, v.from, v.file].filter((x) => x !== undefined).length;
  if (given !== 1) throw new LoadUsageError("give exactly one of --prefix, --from or --file");
  if (v.file !== undefined && !FILE_KINDS.includes(v.kind as FileKind)) {
    throw new LoadUsageError(
      `--kind is ${JSON.stringify(v.kind)}: expected users, products or orders`,
    );
  }
  if (v.file === undefined && v.kind !== undefined) {
    throw new LoadUsageError("--kind goes with --file");
  }
  const chunkRows = v["chunk-rows"] === undefined ? 5000 : Number(v["chunk-rows"]);
  if (!Number.isSafeInteger(chunkRows) || chunkRows < 1) {
    throw new LoadUsageError(
      `--chunk-rows is ${JSON.stringify(v["chunk-rows"])}: expected an integer >= 1`,
    );
  }
  return {
    prefix: v.prefix,
    from: v.from,
    file: v.file,
    kind: v.kind as FileKind | undefined,
    chunkRows,
    migrate: !(v["no-migrate"] ?? false),
  };
}

/** Loads `sources` in order; returns per-file figures. */
export async function loadSources(
  sql: Sql,
  sources: CsvSource[],
  opts: { chunkRows?: number; onFile?(s: LoadStats): void } = {},
): Promise<LoadStats[]> {
  const out: LoadStats[] = [];
  for (const s of sources) {
    const stream = await s.open();
    const stats = await loadCsv(sql, s.kind, s.file, stream, {
      chunkRows: opts.chunkRows,
      etag: s.etag,
    });
    opts.onFile?.(stats);
    out.push(stats);
  }
  return out;
}

/** `load`. */
export const loadCommand: Command = {
  name: "load",
  summary: "Load a run's users/products/orders CSVs (S3 or local) into the star schema",
  usage: USAGE,
  async run(args: string[], { config, log }: ModuleContext): Promise<number> {
    let a: LoadArgs;
    try {
      a = parseLoadArgs(args);
    } catch (e) {
      if (e instanceof LoadUsageError) {
        console.error(`nexus load: ${e.message}`);
        return 2;
      }
      throw e;
    }
    if (a.prefix !== undefined) await checkS3(config, [config.rawBucket]);
    const sql = createSql(config, { max: 2 });
    const s3 = a.prefix !== undefined ? createS3(config) : undefined;
    try {
      try {
        await sql`select 1`;
      } catch (e) {
        throw postgresError(e, config);
      }
      if (a.migrate) await migrate(sql);
      const sources = a.prefix !== undefined
        ? await s3Sources(s3!, config.rawBucket, a.prefix)
        : a.from !== undefined
        ? await localSources(a.from)
        : [localFile(a.kind!, a.file!)];
      if (sources.length === 0) {
        console.error(
          `nexus load: no users.csv, products.csv or orders.csv found in ${
            a.prefix !== undefined ? `s3://${config.rawBucket}/${a.prefix}/` : a.from
          }`,
        );
        return 1;
      }
      const all = await loadSources(sql, sources, {
        chunkRows: a.chunkRows,
        onFile: (s) => {
          log.info("file loaded", { ...s, sha256: s.sha256.slice(0, 12) });
          console.log(JSON.stringify(s));
        },
      });
      return all.length > 0 ? 0 : 1;
    } finally {
      s3?.destroy();
      await sql.end({ timeout: 2 });
    }
  },
};

/** Commands of the loader module. */
export const loaderCommands: Command[] = [loadCommand];
