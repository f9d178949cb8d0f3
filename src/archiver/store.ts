/**
 * The object-store seam of the archiver: the handful of S3 operations it needs, over the real
 * S3 client or an in-memory map (unit tests). PutObject is atomic: an object is either absent
 * or complete, never partial, which the exactly-once argument relies on.
 *
 * @module
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";

/** Thrown by `put(..., {ifAbsent: true})` when the key already exists. */
export class AlreadyExists extends Error {
  constructor(key: string) {
    super(`object ${key} already exists`);
    this.name = "AlreadyExists";
  }
}

/** One listed object. */
export interface ListedObject {
  key: string;
  size: number;
}

/** What the archiver needs from an object store. */
export interface ObjectStore {
  /**
   * Writes an object atomically. With `ifAbsent`, fails with `AlreadyExists` when the key
   * exists (S3 `If-None-Match: *`; emulated by a check first where unsupported).
   */
  put(
    key: string,
    body: Uint8Array,
    opts?: { ifAbsent?: boolean; contentType?: string },
  ): Promise<void>;
  /** Reads an object; `undefined` when absent. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** True when the object exists. */
  exists(key: string): Promise<boolean>;
  /** Lists keys under `prefix` in lexical order, strictly after `startAfter` when given. */
  list(prefix: string, startAfter?: string): AsyncIterable<ListedObject>;
}

function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

function isNotFound(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  return status(e) === 404 || name === "NotFound" || name === "NoSuchKey";
}

/** Options of the S3 store. */
export interface S3StoreOptions {
  /** Per-request time limit in ms (S3 that accepts connections but hangs). Default 60000. */
  requestTimeoutMs?: number;
  /**
   * Whether the server honours `If-None-Match: *` on PutObject. Default false: emulate with a
   * HEAD first (SeaweedFS ignores the header). Safe with one writer per partition, which the
   * consumer group and the ledger's re-check provide.
   */
  conditionalWrites?: boolean;
}

/** An `ObjectStore` over one S3 bucket. */
export class S3Store implements ObjectStore {
  readonly #s3: S3Client;
  readonly #bucket: string;
  readonly #timeout: number;
  readonly #conditional: boolean;

  constructor(s3: S3Client, bucket: string, options: S3StoreOptions = {}) {
    this.#s3 = s3;
    this.#bucket = bucket;
    this.#timeout = options.requestTimeoutMs ?? 60_000;
    this.#conditional = options.conditionalWrites ?? false;
  }

  #signal(): AbortSignal {
    return AbortSignal.timeout(this.#timeout);
  }

  async put(
    key: string,
    body: Uint8Array,
    opts: { ifAbsent?: boolean; contentType?: string } = {},
  ): Promise<void> {
    if (opts.ifAbsent && !this.#conditional && (await this.exists(key))) {
      throw new AlreadyExists(key);
    }
    try {
      await this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: opts.contentType ?? "application/octet-stream",
          ...(opts.ifAbsent && this.#conditional ? { IfNoneMatch: "*" } : {}),
        }),
        { abortSignal: this.#signal() },
      );
    } catch (e) {
      if (opts.ifAbsent && (status(e) === 412 || status(e) === 409)) throw new AlreadyExists(key);
      throw e;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const r = await this.#s3.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), {
        abortSignal: this.#signal(),
      });
      return await r.Body!.transformToByteArray();
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }), {
        abortSignal: this.#signal(),
      });
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async *list(prefix: string, startAfter?: string): AsyncIterable<ListedObject> {
    let token: string | undefined;
    do {
      const r = await this.#s3.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: prefix,
          ...(token ? { ContinuationToken: token } : startAfter ? { StartAfter: startAfter } : {}),
        }),
        { abortSignal: this.#signal() },
      );
      for (const o of r.Contents ?? []) {
        if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0 };
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
  }
}

/**
 * Finds out whether the server honours `If-None-Match: *` on PutObject (AWS S3 and SeaweedFS
 * do; some S3-compatible servers silently ignore it): puts `key` conditionally twice; a 412 on
 * either put proves support.
 */
export async function probeConditionalWrites(
  s3: S3Client,
  bucket: string,
  key: string,
): Promise<boolean> {
  for (let i = 0; i < 2; i++) {
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: new TextEncoder().encode("conditional-write probe"),
          IfNoneMatch: "*",
        }),
        { abortSignal: AbortSignal.timeout(30_000) },
      );
    } catch (e) {
      if (status(e) === 412) return true;
      throw e;
    }
  }
  return false;
}
