/**
 * Start position with an empty ledger: the ledger (S3), not the group's committed Kafka
 * offset, says what is archived. A group that already committed the end of every partition
 * (e.g. a group id shared by mistake with another consumer) must still archive every record
 * from the earliest offset, and say at warn that the committed offset was ahead of the archive.
 */
import assert from "node:assert/strict";
import { createArchiver } from "../src/archiver/mod.ts";
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

Deno.test("empty ledger: archives from the earliest offset even when the group committed the end", async () => {
  const base = testConfig();
  const topic = await freshTopic(base, "arch_start", 3);
  const group = uniqueName("arch_start_g");
  const config = testConfig({
    "click-topic": topic,
    "archiver-group": group,
    "archive-max-records": "500",
    "archive-max-age-ms": "600000",
    partitions: "3",
    "kafka-session-timeout-ms": "6000",
  });
  const manifest = await produceStream(
    config,
    topic,
    defaultStreamParams({ seed: 5, events: 1500, malformedFraction: 0.02 }),
  );
  const high = await highWatermarks(config, topic);
  const total = Number([...high.values()].reduce((a, b) => a + b, 0n));
  assert.equal(total, manifest.records);

  // the group has already "consumed" everything: its committed offsets are the log end
  const kafka = createKafkaClient(config, { clientSuffix: "test-admin" });
  const member = kafka.groupConsumer({ topic, group, sessionTimeoutMs: 6000 });
  const assigned = new Set<number>();
  await member.start({
    assigned: (ps) => ps.forEach((p) => assigned.add(p)),
    revoked: (ps) => ps.forEach((p) => assigned.delete(p)),
    records: () => {},
    failed: (e) => console.error("committing member failed:", e),
  });
  try {
    const until = Date.now() + 30_000;
    while (assigned.size < high.size) {
      assert.ok(Date.now() < until, `committing member assigned ${assigned.size}/${high.size}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await member.commit(high);
  } finally {
    await member.close();
  }
  const admin = kafka.admin();
  try {
    const before = await admin.committedOffsets(group, topic);
    assert.deepEqual([...before].sort(), [...high].sort(), "committed at the end first");
  } finally {
    await admin.close();
  }

  const warnings: string[] = [];
  const log = createLogger("test-archiver", {
    level: "warn",
    format: "json",
    write: (line) => warnings.push(line),
  });
  const archiver = await createArchiver({ config, log });
  try {
    const deadline = Date.now() + 60_000;
    while (archiver.status().eventsIn < total) {
      assert.ok(
        Date.now() < deadline,
        `archived ${archiver.status().eventsIn}/${total} records from a group committed at the end`,
      );
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await archiver.stop();
  }
  assert.equal(archiver.status().eventsOut, total);
  const archive = await readArchive(config, topic);
  assertExactlyOnce(await readTopic(config, topic), archive);
  for (const p of high.keys()) {
    assert.equal(archive.records.find((r) => r.partition === p)?.offset, 0n, `p${p} from 0`);
  }
  const ahead = warnings.filter((l) => l.includes("committed offset is ahead of the archive"));
  assert.equal(ahead.length, high.size, `one warning per partition:\n${warnings.join("\n")}`);
});
