/**
 * Round trip through a real Kafka and SeaweedFS: every record of the topic (generated events,
 * duplicates, every malformed kind, plus binary, empty, null and oversized values) is read
 * back from the archive byte-identical, exactly once; a graceful stop flushes the open
 * batches and commits offsets only for what is durable.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createArchiver } from "../src/archiver/mod.ts";
import { validateRecord } from "../src/events/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createKafkaClient } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { freshTopic, testConfig, uniqueName } from "./_support.ts";
import {
  assertExactlyOnce,
  highWatermarks,
  readArchive,
  readTopic,
} from "./fixtures/archiver_support.ts";

const log = createLogger("test-archiver", { level: "warn" });

Deno.test("archiver round trip: byte-identical, exactly once, stop flushes and commits", async () => {
  const base = testConfig();
  const topic = await freshTopic(base, "arch_rt", 3);
  const group = uniqueName("arch_rt_g");
  const config = testConfig({
    "click-topic": topic,
    "archiver-group": group,
    "archive-max-records": "700",
    // only full batches close by themselves: the tail is flushed by stop()
    "archive-max-age-ms": "600000",
    partitions: "3",
    "kafka-session-timeout-ms": "6000",
  });
  const manifest = await produceStream(
    config,
    topic,
    defaultStreamParams({
      seed: 11,
      events: 3000,
      malformedFraction: 0.05,
      duplicateFraction: 0.03,
    }),
  );
  const kafka = createKafkaClient(config, { clientSuffix: "test-producer" });
  const producer = kafka.producer();
  const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  try {
    await producer.send(topic, [
      { key: "bin", value: binary },
      { key: null, value: Buffer.from("no key") },
      { key: "tombstone", value: null },
      { key: "empty", value: Buffer.alloc(0) },
      { key: Buffer.from([0xff, 0xfe, 0]), value: Buffer.from([0xc3, 0x28, 0xa0, 0xa1]) },
      { key: "big", value: Buffer.alloc(20_000, "x") },
      { key: "crlf", value: Buffer.from('{"a":"line\\nbreak"}\r\n\u2028') },
    ]);
  } finally {
    await producer.close();
  }
  const high = await highWatermarks(config, topic);
  const total = Number([...high.values()].reduce((a, b) => a + b, 0n));
  assert.equal(total, manifest.records + 7);

  const t0 = performance.now();
  const archiver = await createArchiver({ config, log });
  const deadline = Date.now() + 60_000;
  while (archiver.status().eventsIn < total) {
    assert.ok(Date.now() < deadline, `archiver took ${archiver.status().eventsIn}/${total}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await archiver.stop();
  await archiver.stop(); // idempotent
  const s = archiver.status();
  assert.equal(s.eventsOut, total, "stop flushed every open batch");
  console.log(
    `archived ${total} records in ${
      Math.round(performance.now() - t0)
    } ms, ${s.extra?.objectsUploaded} objects, ${s.extra?.bytesUploaded} bytes gzip`,
  );

  const topicRecords = await readTopic(config, topic);
  const archive = await readArchive(config, topic);
  assertExactlyOnce(topicRecords, archive);
  const malformedInTopic = topicRecords.filter((r) => !validateRecord(r.value).ok).length;
  assert.equal(archive.records.filter((r) => !r.valid).length, malformedInTopic);
  assert.ok(archive.records.some((r) => r.reason === "oversized"));
  assert.ok(archive.records.some((r) => r.value === null), "tombstone kept as null");

  // offsets were committed for exactly what is durable
  const admin = kafka.admin();
  try {
    const committed = await admin.committedOffsets(group, topic);
    assert.equal(committed.size, high.size, "every partition has a committed offset");
    for (const [p, offset] of committed) {
      assert.equal(offset, high.get(p), `committed offset of p${p}`);
    }
  } finally {
    await admin.close();
  }
});
