import assert from "node:assert/strict";
import { ConfigError, describeConfig, maskSecret, resolveConfig } from "./config.ts";
import { parseBrokers, parseModules } from "./settings.ts";

Deno.test("defaults resolve to the local stack's addresses and the clicks_topic topic", () => {
  const c = resolveConfig({ env: {} });
  assert.deepEqual(c.kafkaBrokers, ["127.0.0.1:19092"]);
  assert.equal(c.clickTopic, "clicks_topic");
  assert.equal(c.dlqTopic, "clicks_topic.dlq");
  assert.equal(c.httpHost, "127.0.0.1");
  assert.deepEqual(c.modules, ["generator", "aggregator", "archiver"]);
});

Deno.test("a flag beats the environment, which beats the default", () => {
  const env = { KAFKA_BROKERS: "a:1", NEXUS_CLICK_TOPIC: "from_env" };
  const c = resolveConfig({ env, flags: { "kafka-brokers": "b:2" } });
  assert.deepEqual(c.kafkaBrokers, ["b:2"]);
  assert.equal(c.clickTopic, "from_env");
});

Deno.test("an unknown module fails with one line naming NEXUS_MODULES and the fix", () => {
  assert.throws(
    () => resolveConfig({ env: {}, flags: { modules: "generator,agregator" } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.setting, "NEXUS_MODULES");
      assert.match(
        e.message,
        /NEXUS_MODULES \(--modules, from --modules\) is "generator,agregator"/,
      );
      assert.match(e.message, /unknown module "agregator"/);
      assert.match(e.message, /Fix: /);
      assert.ok(!e.message.includes("\n"));
      return true;
    },
  );
});

Deno.test("a broker given as a URL is rejected with the reason", () => {
  assert.throws(() => parseBrokers("kafka://a:9092"), /has a scheme/);
  assert.throws(() => parseBrokers("a"), /is not host:port/);
  assert.deepEqual(parseBrokers(" a:1 , b:2 "), ["a:1", "b:2"]);
});

Deno.test("modules are de-duplicated and kept in the order given", () => {
  assert.deepEqual(parseModules("archiver,generator,archiver"), ["archiver", "generator"]);
});

Deno.test("secret values are never shown, in errors or in the banner", () => {
  assert.throws(
    () => resolveConfig({ env: { DATABASE_URL: "mysql://u:hunter2@h/db" } }),
    (e: unknown) => e instanceof ConfigError && !e.message.includes("hunter2"),
  );
  const c = resolveConfig({
    env: {
      DATABASE_URL: "postgres://nexus:hunter2@db:5432/nexus",
      S3_ACCESS_KEY_ID: "AKIDSECRET",
      S3_SECRET_ACCESS_KEY: "s3cr3t",
    },
  });
  const banner = describeConfig(c).join("\n");
  assert.ok(
    !banner.includes("hunter2") && !banner.includes("s3cr3t") && !banner.includes("AKIDSECRET"),
  );
  assert.match(banner, /DATABASE_URL=postgres:\/\/nexus:\*\*\*@db:5432\/nexus/);
  assert.equal(maskSecret("plain"), "***");
});

Deno.test("a secret can come from a *_FILE variable", () => {
  const c = resolveConfig({
    env: { S3_ACCESS_KEY_ID: "id", S3_SECRET_ACCESS_KEY_FILE: "/run/secret" },
    readFile: (p) => (p === "/run/secret" ? "from-file\n" : ""),
  });
  assert.equal(c.s3SecretAccessKey, "from-file");
});

Deno.test("SASL without credentials fails naming the missing setting", () => {
  assert.throws(
    () => resolveConfig({ env: { KAFKA_SASL_MECHANISM: "scram-sha-512" } }),
    /KAFKA_SASL_USERNAME is not set/,
  );
});

Deno.test("a dead-letter topic equal to the click topic is refused", () => {
  assert.throws(
    () => resolveConfig({ env: { NEXUS_CLICK_TOPIC: "t", NEXUS_DLQ_TOPIC: "t" } }),
    /NEXUS_DLQ_TOPIC is "t", the same as the click topic/,
  );
});

Deno.test("numbers outside their range name the allowed range", () => {
  assert.throws(
    () => resolveConfig({ env: { NEXUS_HTTP_PORT: "70000" } }),
    /NEXUS_HTTP_PORT .* is "70000": outside 0..65535/,
  );
});

Deno.test("fetch sizes default to 96 KiB per partition and six partitions per response", () => {
  const c = resolveConfig({ env: {} });
  assert.equal(c.kafkaFetchPartitionBytes, 98304);
  assert.equal(c.kafkaFetchMaxBytes, 6 * 98304);
  const set = resolveConfig({
    env: { NEXUS_KAFKA_FETCH_PARTITION_BYTES: "1048576" },
    flags: { "kafka-fetch-max-bytes": "4194304" },
  });
  assert.equal(set.kafkaFetchPartitionBytes, 1048576);
  assert.equal(set.kafkaFetchMaxBytes, 4194304);
  assert.throws(
    () => resolveConfig({ env: { NEXUS_KAFKA_FETCH_PARTITION_BYTES: "64k" } }),
    /NEXUS_KAFKA_FETCH_PARTITION_BYTES .* is "64k": not an integer/,
  );
});

Deno.test("the archiver and the aggregator may not share a consumer group", () => {
  assert.throws(
    () => resolveConfig({ env: { NEXUS_ARCHIVER_GROUP: "g", NEXUS_AGGREGATOR_GROUP: "g" } }),
    /NEXUS_ARCHIVER_GROUP is "g", the same as NEXUS_AGGREGATOR_GROUP/,
  );
});
