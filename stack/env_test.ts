import assert from "node:assert/strict";
import { externalEnv, parseEnvLines, renderEnvLines, resolveBuckets, stackEnvMap } from "./env.ts";

const credentials = {
  postgresPassword: "Pw0123456789abcdef",
  s3AccessKeyId: "NXABCDEFGHIJKLMNOPQR",
  s3SecretAccessKey: "secret0123456789secret",
};

Deno.test("the stack env names every service the app needs", () => {
  const env = stackEnvMap({
    kafkaPort: 19092,
    kafkaMisadvertisedPort: 19094,
    postgresPort: 15432,
    s3Port: 18333,
    credentials,
    buckets: { raw: "raw-data", archive: "nexus-archive" },
  });
  assert.deepEqual(env, {
    DATABASE_URL: "postgres://nexus:Pw0123456789abcdef@127.0.0.1:15432/nexus",
    KAFKA_BROKERS: "127.0.0.1:19092",
    NEXUS_STACK_KAFKA_TRAP_ADDRESS: "127.0.0.1:19094",
    S3_ENDPOINT: "http://127.0.0.1:18333",
    S3_ACCESS_KEY_ID: "NXABCDEFGHIJKLMNOPQR",
    S3_SECRET_ACCESS_KEY: "secret0123456789secret",
    S3_REGION: "us-east-1",
    NEXUS_RAW_BUCKET: "raw-data",
    NEXUS_ARCHIVE_BUCKET: "nexus-archive",
  });
});

Deno.test("env lines round-trip through render and parse", () => {
  const map = { A: "1", DATABASE_URL: "postgres://u:p@h:1/d?x=y" };
  assert.deepEqual(parseEnvLines(renderEnvLines(map)), map);
  assert.deepEqual(parseEnvLines("# c\n\nexport B='two words'\nbad line\n"), { B: "two words" });
});

Deno.test("bucket names come from the environment and must follow S3 naming rules", () => {
  assert.deepEqual(resolveBuckets({}), { raw: "raw-data", archive: "nexus-archive" });
  assert.deepEqual(resolveBuckets({ NEXUS_RAW_BUCKET: "my-raw" }).raw, "my-raw");
  assert.throws(
    () => resolveBuckets({ NEXUS_RAW_BUCKET: "Bad_Name" }),
    /NEXUS_RAW_BUCKET: current value is "Bad_Name"/,
  );
  assert.throws(
    () => resolveBuckets({ NEXUS_ARCHIVE_BUCKET: "raw-data" }),
    /the same as NEXUS_RAW_BUCKET/,
  );
});

Deno.test("external services are used only when all three endpoints are set", () => {
  assert.equal(externalEnv({ KAFKA_BROKERS: "k:9092", DATABASE_URL: "postgres://x" }), undefined);
  const env = externalEnv({
    KAFKA_BROKERS: "k:9092",
    DATABASE_URL: "postgres://x",
    S3_ENDPOINT: "http://s3",
    HOME: "/root",
  });
  assert.deepEqual(env, {
    KAFKA_BROKERS: "k:9092",
    DATABASE_URL: "postgres://x",
    S3_ENDPOINT: "http://s3",
  });
});
