/**
 * Where a run's files go: the `raw-data` bucket under `runs/<seed>-<params hash>/` and,
 * optionally, a local directory. CSVs are streamed chunk by chunk (multipart upload), so
 * their size is not bounded by memory.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { Readable } from "node:stream";
import { PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { CSV_FILES, csvChunks, type CsvFile, type CsvParams } from "./csv.ts";
import { type Manifest, manifestJson } from "./manifest.ts";
import { runId, type StreamParams } from "./params.ts";

/** The S3 prefix (no trailing slash) of a run: `runs/<seed>-<hash of params and orders>`. */
export function runPrefix(p: StreamParams, orders: number): string {
  return `runs/${runId(p, orders)}`;
}

/** The CSV parameters implied by stream parameters and an order count. */
export function csvParamsOf(p: StreamParams, orders: number): CsvParams {
  return { seed: p.seed, users: p.users, products: p.products, orders, start: p.start };
}

/** Writes the three CSV files into `dir` (created if missing); returns the paths. */
export async function writeCsvFiles(dir: string, p: CsvParams): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const file of CSV_FILES) {
    const path = `${dir.replace(/\/$/, "")}/${file}`;
    const f = await Deno.open(path, { write: true, create: true, truncate: true });
    try {
      const enc = new TextEncoder();
      for (const chunk of csvChunks(file, p)) {
        const bytes = enc.encode(chunk);
        let off = 0;
        while (off < bytes.length) off += await f.write(bytes.subarray(off));
      }
    } finally {
      f.close();
    }
    paths.push(path);
  }
  return paths;
}

function csvStream(file: CsvFile, p: CsvParams): Readable {
  return Readable.from((function* () {
    for (const chunk of csvChunks(file, p)) yield Buffer.from(chunk);
  })());
}

/** Uploads the three CSV files to `bucket` under `prefix/`; returns the keys. */
export async function uploadCsvFiles(
  s3: S3Client,
  bucket: string,
  prefix: string,
  p: CsvParams,
): Promise<string[]> {
  const keys: string[] = [];
  for (const file of CSV_FILES) {
    const key = `${prefix}/${file}`;
    await new Upload({
      client: s3,
      params: { Bucket: bucket, Key: key, Body: csvStream(file, p), ContentType: "text/csv" },
      queueSize: 2,
      partSize: 8 * 1024 * 1024,
    }).done();
    keys.push(key);
  }
  return keys;
}

/** Puts `manifest.json` under `prefix/`; returns the key. */
export async function uploadManifest(
  s3: S3Client,
  bucket: string,
  prefix: string,
  m: Manifest,
): Promise<string> {
  const key = `${prefix}/manifest.json`;
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: manifestJson(m),
      ContentType: "application/json",
    }),
  );
  return key;
}
