/**
 * The loader as a `run` module: polls the raw bucket for run prefixes (runs/<id>/ holding an
 * orders.csv) and loads every run with a file whose (file, ETag) is not yet in load_files.
 *
 * @module
 */
import type { S3Client } from "@aws-sdk/client-s3";
import { createSql, type Sql } from "../postgres/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { ModuleStarter, ModuleStatus, RunningModule } from "../runtime/module.ts";
import { createS3 } from "../s3/mod.ts";
import { loadSources } from "./cli.ts";
import type { LoadStats } from "./load.ts";
import { listRunPrefixes, s3Sources } from "./source.ts";

/**
 * One poll: loads each run under `root` that has a file not yet loaded (by file and ETag).
 * A run is loaded whole, dimensions first, so its orders see its users and products; files
 * already loaded are no-ops. Returns the figures of the files loaded.
 */
export async function loadNewRuns(
  sql: Sql,
  s3: S3Client,
  bucket: string,
  opts: { root?: string; onFile?(s: LoadStats): void; shouldStop?(): boolean } = {},
): Promise<LoadStats[]> {
  const out: LoadStats[] = [];
  for (const prefix of await listRunPrefixes(s3, bucket, opts.root)) {
    if (opts.shouldStop?.()) break;
    const sources = await s3Sources(s3, bucket, prefix);
    const known = await sql<{ file: string }[]>`
      select file from load_files
      where (file, etag) in (
        select * from unnest(${sql.array(sources.map((s) => s.file))}::text[],
                             ${sql.array(sources.map((s) => s.etag ?? ""))}::text[]))`;
    const done = new Set(known.map((k) => k.file));
    if (sources.every((s) => done.has(s.file))) continue;
    out.push(...await loadSources(sql, sources, { onFile: opts.onFile }));
  }
  return out;
}

/** Starts the polling loader. */
export const startLoader: ModuleStarter = async ({ config, log }) => {
  const pollMs = config.loaderPollMs;
  const sql = createSql(config, { max: 2 });
  const s3 = createS3(config);
  await sql`select 1`;
  let rowsIn = 0, filesLoaded = 0, rejected = 0;
  let lastFlushAt: number | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;

  const done = (async () => {
    while (!stopped) {
      try {
        await loadNewRuns(sql, s3, config.rawBucket, {
          shouldStop: () => stopped,
          onFile: (s) => {
            rowsIn += s.rowsRead;
            rejected += s.rejected;
            filesLoaded++;
            lastFlushAt = Date.now();
            log.info("file loaded", {
              file: s.file,
              inserted: s.inserted,
              updated: s.updated,
              rejected: s.rejected,
            });
          },
        });
      } catch (e) {
        log.warn("load failed; retrying at the next poll", { error: reasonOf(e) });
      }
      if (stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, pollMs);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  })();

  let stopping: Promise<void> | undefined;
  const mod: RunningModule = {
    name: "loader",
    done,
    stop() {
      stopping ??= (async () => {
        stopped = true;
        wake?.();
        await done.catch(() => {});
        s3.destroy();
        await sql.end({ timeout: 2 }).catch(() => {});
      })();
      return stopping;
    },
    status(): ModuleStatus {
      return { eventsIn: rowsIn, eventsOut: 0, lastFlushAt, extra: { filesLoaded, rejected } };
    },
  };
  return mod;
};
