/**
 * Where CSV files come from: a local directory or a run prefix in the raw-data bucket. Both
 * give byte streams, so files larger than memory load fine.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { resolve } from "node:path";
import type { Readable } from "node:stream";
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { FILE_KINDS, type FileKind } from "./validate.ts";

/** One file to load. */
export interface CsvSource {
  kind: FileKind;
  /** Name recorded in load_rejects/load_files: the absolute path or s3://bucket/key. */
  file: string;
  /** S3 ETag, when from S3. */
  etag?: string;
  open(): Promise<Readable>;
}

/** The users/products/orders CSVs present in local directory `dir`, in load order. */
export async function localSources(dir: string): Promise<CsvSource[]> {
  const out: CsvSource[] = [];
  for (const kind of FILE_KINDS) {
    const path = resolve(dir, `${kind}.csv`);
    try {
      if (!(await Deno.stat(path)).isFile) continue;
    } catch {
      continue;
    }
    out.push({ kind, file: path, open: () => Promise.resolve(createReadStream(path)) });
  }
  return out;
}

/** One local file of a given kind. */
export function localFile(kind: FileKind, path: string): CsvSource {
  const abs = resolve(path);
  return { kind, file: abs, open: () => Promise.resolve(createReadStream(abs)) };
}

/** The users/products/orders CSVs under `prefix/` in `bucket`, in load order. */
export async function s3Sources(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<CsvSource[]> {
  const p = prefix.replace(/\/+$/, "");
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${p}/` }));
  const objects = new Map((listed.Contents ?? []).map((o) => [o.Key!, o]));
  const out: CsvSource[] = [];
  for (const kind of FILE_KINDS) {
    const key = `${p}/${kind}.csv`;
    const obj = objects.get(key);
    if (!obj) continue;
    out.push({
      kind,
      file: `s3://${bucket}/${key}`,
      etag: obj.ETag?.replaceAll('"', ""),
      async open() {
        const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return res.Body as Readable;
      },
    });
  }
  return out;
}

/**
 * Run prefixes (`runs/<id>`) in `bucket` that contain an orders.csv (complete runs: the
 * generator uploads users, products, then orders). `root` narrows the listing, e.g.
 * `runs/7-` for the runs of seed 7.
 */
export async function listRunPrefixes(
  s3: S3Client,
  bucket: string,
  root = "runs/",
): Promise<string[]> {
  const out = new Set<string>();
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: root, ContinuationToken: token }),
    );
    for (const o of page.Contents ?? []) {
      const m = /^(runs\/[^/]+)\/orders\.csv$/.exec(o.Key ?? "");
      if (m) out.add(m[1]!);
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return [...out].sort();
}
