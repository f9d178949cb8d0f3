import assert from "node:assert/strict";
import { freePort } from "../../tests/fixtures/free_port.ts";
import { resolveConfig } from "../config/mod.ts";
import { ConfigError } from "../config/mod.ts";
import { createLogger } from "../log/logger.ts";
import type { RunningModule } from "../runtime/module.ts";
import { assertBindable, isLoopback, startHttpServer } from "./http.ts";
import { Registry } from "./metrics.ts";
import { parsePrometheus, sampleValue } from "../../tests/fixtures/prom_parser.ts";

const log = createLogger("test", { level: "error" });

function fakeModule(done: Promise<void>): RunningModule {
  return {
    name: "archiver",
    done,
    stop: () => Promise.resolve(),
    status: () => ({
      eventsIn: 10,
      eventsOut: 9,
      deadLettered: 1,
      partitions: { 0: { offset: "41", watermark: 1_700_000_000_000 } },
    }),
  };
}

Deno.test("http: loopback guard", () => {
  for (const h of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"]) {
    assert.ok(isLoopback(h), h);
  }
  for (const h of ["0.0.0.0", "10.0.0.1", "::", "example.com"]) assert.ok(!isLoopback(h), h);
  assert.throws(() => assertBindable("0.0.0.0", false), ConfigError);
  assertBindable("0.0.0.0", true);
});

Deno.test("http: healthz, readyz, metrics, dashboard assets, read-only", async () => {
  // Kafka is pointed at a closed port: the lag collector fails, the scrape must not.
  const config = resolveConfig({
    env: {},
    flags: { "kafka-brokers": "127.0.0.1:1", modules: "archiver" },
  });
  const failing = Promise.withResolvers<void>();
  const mods = [fakeModule(failing.promise)];
  let ok = true;
  const server = await startHttpServer({
    config: { ...config, httpPort: freePort() },
    log,
    modules: () => mods,
    registry: new Registry(),
    readiness: [{
      name: "fake",
      check: () => (ok ? Promise.resolve() : Promise.reject(new Error("down"))),
    }],
  });
  assert.ok(server);
  try {
    const get = (p: string, init?: RequestInit) => fetch(server.url + p, init);
    let r = await get("/healthz");
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { status: "alive" });

    r = await get("/readyz");
    assert.equal(r.status, 200, await r.clone().text());
    await r.body?.cancel();
    ok = false;
    r = await get("/readyz");
    assert.equal(r.status, 200, "cached for a few seconds");
    await r.body?.cancel();

    r = await get("/metrics");
    assert.equal(r.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const fams = parsePrometheus(await r.text());
    assert.equal(
      sampleValue(fams, "nexus_events_total", { module: "archiver", direction: "in" }),
      10,
    );
    assert.equal(
      sampleValue(fams, "nexus_partition_fault_timestamp_seconds", {
        module: "archiver",
        partition: "0",
      }),
      0,
    );
    assert.equal(sampleValue(fams, "nexus_module_up", { module: "archiver" }), 1);
    // Kafka unreachable: the lag families are left out, never served empty
    assert.equal(fams.has("nexus_kafka_consumer_group_lag"), false);
    for (const f of fams.values()) assert.ok(f.samples.length > 0, f.name);

    for (
      const [p, type] of [["/", "text/html"], ["/assets/app.js", "text/javascript"], [
        "/assets/style.css",
        "text/css",
      ]]
    ) {
      r = await get(p!);
      assert.equal(r.status, 200, p);
      assert.ok(r.headers.get("content-type")!.startsWith(type!));
      assert.ok(r.headers.get("content-security-policy")!.includes("default-src 'none'"));
      const body = await r.text();
      assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(body), `${p} references an external URL`);
    }
    r = await get("/nope");
    assert.equal(r.status, 404);
    await r.body?.cancel();
    r = await get("/metrics", { method: "POST" });
    assert.equal(r.status, 405);
    await r.body?.cancel();

    failing.reject(new Error("boom"));
    await new Promise((res) => setTimeout(res, 10));
    r = await get("/metrics");
    assert.equal(
      sampleValue(parsePrometheus(await r.text()), "nexus_module_up", { module: "archiver" }),
      0,
    );
  } finally {
    await server.stop();
  }
});

Deno.test("http: modules check fails when a module ended", async () => {
  const config = resolveConfig({
    env: {},
    flags: { "kafka-brokers": "127.0.0.1:1", modules: "archiver" },
  });
  const ended = Promise.reject(new Error("crashed"));
  ended.catch(() => {});
  const { modulesCheck, ReadinessProbe } = await import("./readiness.ts");
  const mod = fakeModule(ended);
  const probe = new ReadinessProbe([modulesCheck(() => [mod])]);
  await probe.evaluate();
  await new Promise((res) => setTimeout(res, 10));
  const r = await probe.evaluate();
  assert.equal(r.ready, false);
  assert.match(r.checks[0]!.reason!, /archiver failed: crashed/);
  const empty = await new ReadinessProbe([modulesCheck(() => [])]).evaluate();
  assert.equal(empty.ready, false);
  assert.ok(config);
});

Deno.test("http: port 0 disables the server", async () => {
  const config = resolveConfig({ env: {}, flags: { "http-port": "0" } });
  assert.equal(await startHttpServer({ config, log, modules: () => [] }), undefined);
});
