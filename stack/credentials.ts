/**
 * The stack's secrets: generated once with `crypto.getRandomValues`, kept in
 * `.nexus/stack/credentials.json` (mode 0600) and reused on every later run.
 *
 * @module
 */
import { dirname } from "node:path";
import { StackError } from "./errors.ts";

/** The generated secrets of the local stack. */
export interface StackCredentials {
  /** Password of the PostgreSQL superuser `nexus`. */
  postgresPassword: string;
  /** S3 access key id of the single SeaweedFS identity. */
  s3AccessKeyId: string;
  /** S3 secret access key of that identity. */
  s3SecretAccessKey: string;
  /** SCRAM-SHA-512 password of the Kafka user `nexus` (SASL listener). Added on upgrade. */
  kafkaSaslPassword?: string;
  /** Password of the Kafka TLS listener's PKCS12 keystore. Added on upgrade. */
  kafkaKeystorePassword?: string;
}

/** The Kafka SCRAM user of the local stack. */
export const KAFKA_SASL_USERNAME = "nexus";

const UPPER_DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Fills a byte array with random values; `crypto.getRandomValues` by default. */
export type RandomFill = (bytes: Uint8Array) => Uint8Array;

const cryptoFill: RandomFill = (bytes) => crypto.getRandomValues(bytes);

/** Returns `length` characters of `alphabet` drawn uniformly (rejection sampling, no bias). */
export function randomString(
  alphabet: string,
  length: number,
  fill: RandomFill = cryptoFill,
): string {
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of fill(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** Generates fresh credentials: URL-safe password, `NX…` access key, 40-char secret. */
export function generateCredentials(fill: RandomFill = cryptoFill): StackCredentials {
  return {
    postgresPassword: randomString(ALNUM, 32, fill),
    s3AccessKeyId: "NX" + randomString(UPPER_DIGITS, 18, fill),
    s3SecretAccessKey: randomString(ALNUM, 40, fill),
    kafkaSaslPassword: randomString(ALNUM, 32, fill),
    kafkaKeystorePassword: randomString(ALNUM, 24, fill),
  };
}

/** Checks a parsed credentials file, failing with the file name and the fix. */
export function parseCredentials(text: string, file: string): StackCredentials {
  const fix = `fix: delete ${file} and .nexus/data/ (then run \`deno task stack up\` again)`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new StackError(`Cannot read stack credentials: current value is not JSON; ${fix}`);
  }
  const v = value as Record<string, unknown>;
  for (const key of ["postgresPassword", "s3AccessKeyId", "s3SecretAccessKey"] as const) {
    if (typeof v?.[key] !== "string" || !/^[A-Za-z0-9]{16,}$/.test(v[key] as string)) {
      throw new StackError(
        `Cannot read stack credentials: current value of ${key} in ${file} is missing or not ` +
          `16+ letters/digits; ${fix}`,
      );
    }
  }
  const out: StackCredentials = {
    postgresPassword: v.postgresPassword as string,
    s3AccessKeyId: v.s3AccessKeyId as string,
    s3SecretAccessKey: v.s3SecretAccessKey as string,
  };
  // Optional: files written before the SASL/TLS listeners existed lack them.
  for (const key of ["kafkaSaslPassword", "kafkaKeystorePassword"] as const) {
    if (v?.[key] === undefined) continue;
    if (typeof v[key] !== "string" || !/^[A-Za-z0-9]{16,}$/.test(v[key] as string)) {
      throw new StackError(
        `Cannot read stack credentials: current value of ${key} in ${file} is not ` +
          `16+ letters/digits; ${fix}`,
      );
    }
    out[key] = v[key] as string;
  }
  return out;
}

/** Reads the credentials file, or returns undefined when it does not exist yet. */
export async function readCredentials(file: string): Promise<StackCredentials | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  return parseCredentials(text, file);
}

/** Reads the credentials file, creating it (mode 0600) with fresh secrets on first use. */
export async function loadOrCreateCredentials(file: string): Promise<StackCredentials> {
  const existing = await readCredentials(file);
  if (existing?.kafkaSaslPassword && existing.kafkaKeystorePassword) return existing;
  if (existing) {
    // Upgrade: keep every existing secret, add the Kafka SASL/TLS ones.
    const extra = generateCredentials();
    const upgraded: StackCredentials = {
      ...existing,
      kafkaSaslPassword: existing.kafkaSaslPassword ?? extra.kafkaSaslPassword,
      kafkaKeystorePassword: existing.kafkaKeystorePassword ?? extra.kafkaKeystorePassword,
    };
    await writeSecretFile(file, JSON.stringify(upgraded, null, 2) + "\n");
    return upgraded;
  }
  const fresh = generateCredentials();
  await Deno.mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeSecretFile(file, JSON.stringify(fresh, null, 2) + "\n");
  return fresh;
}

/** Writes a file readable by its owner only (mode 0600), replacing it atomically. */
export async function writeSecretFile(file: string, text: string): Promise<void> {
  const tmp = `${file}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, text, { mode: 0o600 });
  await Deno.chmod(tmp, 0o600);
  await Deno.rename(tmp, file);
}
