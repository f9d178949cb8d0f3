/**
 * The `load` command: loads a run's CSVs (from S3 or a local directory) into the star schema.
 *
 * @module
 */
import { defineCommand, parseOptions, UsageError, type Values } from "../cli/options.ts";
import { loadSpec } from "../cli/specs.ts";
import { createSql, migrate, postgresError, type Sql } from "../postgres/mod.ts";
import { checkS3, createS3 } from "../s3/mod.ts";
import type { Command } from "../runtime/module.ts";
import { loadCsv, type LoadStats } from "./load.ts";
import { type CsvSource, localFile, localSources, s3Sources } from "./source.ts";
import type { FileKind } from "./validate.ts";

/** Parsed `load` options. */
export interface LoadArgs {
  prefix?: string;
  from?: string;
  file?: string;
  kind?: FileKind;
  chunkRows: number;
  migrate: boolean;
}

function loadArgs(v: Values<typeof loadSpec.options>): LoadArgs {
  const given = [v.prefix, v.from, v.file].filter((x) => x !== undefined).length;
  if (given !== 1) {
    throw new UsageError(
      `${given} of --prefix, --from and --file given`,
      "give exactly one of them",
    );
  }
  if (v.file !== undefined && v.kind === undefined) {
    throw new UsageError("--file needs --kind", "give --kind users, products or orders");
  }
  if (v.file === undefined && v.kind !== undefined) {
    throw new UsageError("--kind goes with --file", "drop --kind or give --file PATH");
  }
  return {
    prefix: v.prefix,
    from: v.from,
    file: v.file,
    kind: v.kind,
    chunkRows: v["chunk-rows"],
    migrate: !v["no-migrate"],
  };
}

/** Parses the `load` arguments. @throws {UsageError} */
export function parseLoadArgs(args: string[]): LoadArgs {
  return loadArgs(parseOptions(loadSpec, args));
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
export const loadCommand: Command = defineCommand(loadSpec, async (flags, { config, log }) => {
  const a = loadArgs(flags);
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
});

/** Commands of the loader module. */
export const loaderCommands: Command[] = [loadCommand];
