/**
 * The S3 client factory. The settings third-party S3 servers (SeaweedFS, MinIO, S3Proxy)
 * need live here and nowhere else: path-style addressing, checksums only when required,
 * static credentials and an explicit region.
 *
 * @module
 */
import { HeadBucketCommand, S3Client, type S3ClientConfig } from "@aws-sdk/client-s3";
import type { Config } from "../config/mod.ts";
import { reasonOf, ServiceError } from "../runtime/errors.ts";

/** Options for `createS3`. */
export interface S3Options {
  /** SDK attempts per request (first try included). Default 3. */
  maxAttempts?: number;
}

/** Builds the S3 client settings from `Config`. */
export function s3ClientConfig(config: Config, options: S3Options = {}): S3ClientConfig {
  return {
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    forcePathStyle: true,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: options.maxAttempts ?? 3,
    credentials: config.s3AccessKeyId && config.s3SecretAccessKey
      ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey }
      : { accessKeyId: "anonymous", secretAccessKey: "anonymous" },
  };
}

/** Creates an S3 client configured from `Config`. */
export function createS3(config: Config, options: S3Options = {}): S3Client {
  return new S3Client(s3ClientConfig(config, options));
}

/**
 * Checks that each bucket exists and the keys may use it.
 *
 * @throws {ServiceError} naming the bucket setting or S3_ENDPOINT/keys, and the fix.
 */
export async function checkS3(config: Config, buckets: string[]): Promise<void> {
  const s3 = createS3(config, { maxAttempts: 2 });
  try {
    for (const bucket of buckets) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }), {
          abortSignal: AbortSignal.timeout(10000),
        });
      } catch (e) {
        const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata
          ?.httpStatusCode;
        const setting = bucket === config.archiveBucket
          ? "NEXUS_ARCHIVE_BUCKET"
          : "NEXUS_RAW_BUCKET";
        if (status === 404) {
          throw new ServiceError(
            `Cannot use S3: bucket "${bucket}" does not exist at S3_ENDPOINT=${config.s3Endpoint}. Fix: create it (deno task stack up creates raw-data and nexus-archive) or set ${setting}.`,
            { setting, retriable: false, cause: e },
          );
        }
        if (status === 403 || status === 401) {
          throw new ServiceError(
            `Cannot use S3: access to bucket "${bucket}" at S3_ENDPOINT=${config.s3Endpoint} was refused (HTTP ${status}). Fix: check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY.`,
            { setting: "S3_ACCESS_KEY_ID", retriable: false, cause: e },
          );
        }
        throw new ServiceError(
          `Cannot reach S3 at S3_ENDPOINT=${config.s3Endpoint}: ${
            reasonOf(e)
          }. Fix: start the S3 server (deno task stack up) or correct S3_ENDPOINT.`,
          { setting: "S3_ENDPOINT", retriable: true, cause: e },
        );
      }
    }
  } finally {
    s3.destroy();
  }
}
