/**
 * Acceptance: the lag `status` and `/metrics` report equals an independent read of the end
 * offsets after a consumer group consumed part of a fresh topic; `/metrics` parses with a
 * strict text-format parser; `/readyz` is ready against the real services.
 */
import { freePort } from "./fixtures/free_port.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { createKafkaClient } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { createS3 } from "../src/s3/mod.ts";
import type { RunningModule } from "../src/runtime/module.ts";
import { dataKey } from "../src/archiver/key.ts";
import { startHttpServer } from "../src/observe/http.ts";
import { Registry } from "../src/observe/metrics.ts";
import { formatStatus, gatherStatus, statusCommand } from "../src/observe/status_command.ts";
import { parsePrometheus, sampleValue } from "./fixtures/prom_parser.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";

const PRODUCED = [10, 7, 5]; // records per partition
const COMMITTED: Record<number, number> = { 0: 4, 1: 7 }; // partition 2: nothing committed

Deno.test("observe: status and /metrics lag agree with the end offsets", async () => {
  const topic = await freshTopic(testConfig(), "obs_lag", 3);
  const aggGroup = uniqueName("obs_agg");
  const arcGroup = uniqueName("obs_arc");
  const db = await freshDatabase(
    "obs_lag",
    testConfig({
      "click-topic": topic,
      "aggregator-group": aggGroup,
      "archiver-group": arcGroup,
      modules: "aggregator,archiver",
    }),
  );
  const config = db.config;
  const kafka = createKafkaClient(config, { clientSuffix: "obs-test" });
  const admin = kafka.admin();
  const s3 = createS3(config);
  const archiveKey = dataKey("raw", { topic, partition: 1, start: 0n, end: 5n }, Date.now());
  try {
    // Produce, then consume everything with a group but commit only part of it.
    const producer = kafka.producer();
    try {
      await producer.send(
        topic,
        PRODUCED.flatMap((n, partition) =>
          Array.from(
            { length: n },
            (_, i) => ({ key: null, partition, value: Buffer.from(`m${partition}-${i}`) }),
          )
        ),
      );
    } finally {
      await producer.close();
    }
    const consumer = kafka.groupConsumer({ topic, group: aggGroup, sessionTimeoutMs: 10_000 });
    let seen = 0;
    const all = PRODUCED.reduce((a, b) => a + b, 0);
    const consumedAll = Promise.withResolvers<void>();
    const failed = Promise.withResolvers<never>();
    const assigned = new Set<number>();
    try {
      await consumer.start({
        assigned: (ps) => {
          for (const p of ps) {
            assigned.add(p);
            consumer.seek(p, 0n);
          }
        },
        revoked: (ps) => ps.forEach((p) => assigned.delete(p)),
        records: (b) => {
          seen += b.records.length;
          if (seen >= all) consumedAll.resolve();
        },
        failed: (e) => failed.reject(e),
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        consumedAll.promise,
        failed.promise,
        new Promise((_, rej) =>
          timer = setTimeout(() => rej(new Error("consume timeout")), 60_000)
        ),
      ]).finally(() => clearTimeout(timer));
      assert.equal(seen, all, "the group consumed every record once");
      assert.equal(assigned.size, PRODUCED.length, "the group owns every partition");
      await consumer.commit(
        new Map(Object.entries(COMMITTED).map(([p, o]) => [Number(p), BigInt(o)])),
      );
    } finally {
      await consumer.close();
    }

    // The aggregator's Postgres checkpoint for partition 2 and one archived object for p1.
    await db.sql`insert into consumer_checkpoints
      (processor, topic, partition, next_offset, replay_offset, watermark)
      values ('aggregator', ${topic}, 2, 3, 1, '2026-01-01T00:05:00Z')`;
    await s3.send(
      new PutObjectCommand({ Bucket: config.archiveBucket, Key: archiveKey, Body: "x" }),
    );

    // Independent read.
    const ends = new Map([...await admin.offsets(topic)].map(([p, o]) => [p, Number(o.high)]));
    assert.deepEqual([...ends].sort(), [[0, 10], [1, 7], [2, 5]]);
    const expectAgg = (p: number) => ends.get(p)! - (p === 2 ? 3 : COMMITTED[p]!);
    const expectArc = (p: number) => ends.get(p)! - (p === 1 ? 6 : 0);

    // status
    const report = await gatherStatus(config);
    assert.deepEqual(report.warnings, []);
    for (const r of report.partitions) {
      assert.equal(r.end, ends.get(r.partition));
      const want = r.module === "aggregator" ? expectAgg(r.partition) : expectArc(r.partition);
      assert.equal(r.lag, want, `${r.module} p${r.partition}`);
    }
    const agg2 = report.partitions.find((r) => r.module === "aggregator" && r.partition === 2)!;
    assert.equal(agg2.stored, 3);
    assert.equal(agg2.watermark, "2026-01-01T00:05:00.000Z");
    assert.equal(
      report.partitions.find((r) => r.module === "archiver" && r.partition === 1)!.archived,
      5,
    );
    const table = formatStatus(report);
    assert.match(
      table,
      new RegExp(`total lag ${aggGroup}: ${expectAgg(0) + expectAgg(1) + expectAgg(2)}`),
    );
    const printed: string[] = [];
    const orig = console.log;
    console.log = (s: string) => printed.push(s);
    try {
      assert.equal(await statusCommand.run(["--json"], { config, log: createLogger("t") }), 0);
      assert.equal(await statusCommand.run(["--bogus"], { config, log: createLogger("t") }), 2);
    } finally {
      console.log = orig;
    }
    assert.equal(JSON.parse(printed[0]!).partitions.length, 6);

    // /metrics and /readyz, with a running archiver reporting its last archived offset.
    const archiver: RunningModule = {
      name: "archiver",
      done: new Promise(() => {}),
      stop: () => Promise.resolve(),
      status: () => ({ eventsIn: 22, eventsOut: 22, partitions: { 1: { offset: "5" } } }),
    };
    const aggregator: RunningModule = {
      ...archiver,
      name: "aggregator",
      status: () => ({ eventsIn: 0, eventsOut: 0 }),
    };
    const server = await startHttpServer({
      config: { ...config, httpPort: freePort() },
      log: createLogger("t", { level: "error" }),
      modules: () => [aggregator, archiver],
      registry: new Registry(),
    });
    assert.ok(server);
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      const fams = parsePrometheus(text);
      for (let p = 0; p < 3; p++) {
        const l = { topic, partition: String(p) };
        assert.equal(sampleValue(fams, "nexus_kafka_end_offset", l), ends.get(p));
        assert.equal(
          sampleValue(fams, "nexus_kafka_consumer_group_lag", { ...l, group: aggGroup }),
          expectAgg(p),
        );
        assert.equal(
          sampleValue(fams, "nexus_kafka_consumer_group_lag", { ...l, group: arcGroup }),
          expectArc(p),
        );
      }
      // the next offset: the committed one (p0), the stored checkpoint (p2), the archived
      // offset + 1 (archiver p1), else the first offset
      assert.equal(
        sampleValue(fams, "nexus_consumer_next_offset", { group: aggGroup, partition: "0" }),
        4,
      );
      assert.equal(
        sampleValue(fams, "nexus_consumer_next_offset", { group: aggGroup, partition: "2" }),
        3,
      );
      assert.equal(
        sampleValue(fams, "nexus_consumer_next_offset", { group: arcGroup, partition: "1" }),
        6,
      );
      assert.equal(
        sampleValue(fams, "nexus_consumer_next_offset", { group: arcGroup, partition: "0" }),
        0,
      );
      for (const f of fams.values()) assert.ok(f.samples.length > 0, `${f.name} has no sample`);
      const ready = await fetch(`${server.url}/readyz`);
      const body = await ready.json();
      assert.equal(ready.status, 200, JSON.stringify(body));
      assert.deepEqual(body.checks.map((c: { name: string }) => c.name).sort(), [
        "kafka",
        "modules",
        "postgres",
        "s3",
      ]);
      const lag = await (await fetch(`${server.url}/api/lag`)).json();
      assert.equal(lag.partitions.length, 6);
    } finally {
      await server.stop();
    }
  } finally {
    await s3.send(new DeleteObjectCommand({ Bucket: config.archiveBucket, Key: archiveKey })).catch(
      () => {},
    );
    s3.destroy();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.deleteGroups([aggGroup]).catch(() => {});
    await admin.close();
    await db.drop();
  }
});
