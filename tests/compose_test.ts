/**
 * compose.yaml agrees with the application's configuration defaults: service names,
 * published ports, Redpanda's listeners and the bucket names.
 */
import assert from "node:assert/strict";
import { parse } from "yaml";
import { resolveConfig } from "../src/config/mod.ts";

interface Service {
  image?: string;
  command?: string | string[];
  ports?: string[];
  environment?: Record<string, string>;
}
const compose = parse(
  await Deno.readTextFile(new URL("../compose.yaml", import.meta.url)),
) as { services: Record<string, Service>; configs: Record<string, { content: string }> };
const defaults = resolveConfig({ env: {} });
const svc = (name: string) => {
  const s = compose.services[name];
  assert.ok(s, `compose.yaml has no service "${name}"`);
  return s;
};
const hostPorts = (s: Service) => (s.ports ?? []).map((p) => p.split(":").at(-2));
const flat = (c: Service["command"]) => (Array.isArray(c) ? c.join(" ") : c ?? "");

Deno.test("compose has Redpanda, PostgreSQL, SeaweedFS, bucket set-up and the app", () => {
  for (const name of ["redpanda", "postgres", "seaweedfs", "seaweedfs-init", "nexus"]) svc(name);
  assert.ok(!JSON.stringify(compose).includes("minio"), "MinIO images are no longer published");
});

Deno.test("Redpanda advertises an internal listener for containers and an external one for the host", () => {
  const cmd = flat(svc("redpanda").command);
  const [host, port] = defaults.kafkaBrokers[0]!.split(":");
  assert.match(cmd, new RegExp(`external://localhost:${port}`));
  assert.match(cmd, /internal:\/\/redpanda:9092/);
  assert.ok(hostPorts(svc("redpanda")).includes(port), `host port ${port} is not published`);
  assert.ok(["127.0.0.1", "localhost"].includes(host!));
  assert.equal(svc("nexus").environment?.KAFKA_BROKERS, "redpanda:9092");
});

Deno.test("PostgreSQL and S3 publish the ports the defaults point at", () => {
  const pgPort = new URL(defaults.databaseUrl).port;
  assert.ok(hostPorts(svc("postgres")).includes(pgPort));
  assert.equal(
    svc("postgres").environment?.POSTGRES_DB,
    new URL(defaults.databaseUrl).pathname.slice(1),
  );
  assert.equal(svc("postgres").environment?.POSTGRES_USER, new URL(defaults.databaseUrl).username);
  const s3Port = new URL(defaults.s3Endpoint).port;
  assert.ok(hostPorts(svc("seaweedfs")).includes(s3Port));
  assert.equal(new URL(svc("nexus").environment!.S3_ENDPOINT!).hostname, "seaweedfs");
});

Deno.test("the buckets compose creates are the app's default buckets", () => {
  const init = flat(svc("seaweedfs-init").command);
  for (const b of [defaults.rawBucket, defaults.archiveBucket]) {
    assert.ok(init.includes(b), `bucket ${b} is not created`);
  }
  const env = svc("nexus").environment!;
  assert.equal(env.NEXUS_RAW_BUCKET, defaults.rawBucket);
  assert.equal(env.NEXUS_ARCHIVE_BUCKET, defaults.archiveBucket);
  assert.equal(env.NEXUS_CLICK_TOPIC, defaults.clickTopic);
});

Deno.test("the app's environment in compose is a valid Nexus configuration", () => {
  const env = { ...svc("nexus").environment } as Record<string, string>;
  for (const [k, v] of Object.entries(env)) env[k] = v.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, "$1");
  const c = resolveConfig({ env });
  assert.deepEqual(c.modules, ["generator", "aggregator", "archiver"]);
});
