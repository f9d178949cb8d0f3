/**
 * Generator integration: a stream with every fraction non-zero goes to a fresh topic; an
 * independent read of the topic (no consumer group) recounts it and must match the manifest
 * exactly.
 */
import assert from "node:assert/strict";
import {
  ACTIONS,
  MALFORMED_KINDS,
  validateRecord,
  VALUE_MALFORMED_KINDS,
} from "../src/events/mod.ts";
import { computeManifest, defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createKafkaClient, readTopic, topicEnds } from "../src/kafka/mod.ts";
import { testConfig, uniqueName } from "./_support.ts";

const dec = new TextDecoder();

Deno.test("generator: produced stream recounted by an independent consumer matches the manifest", async () => {
  const config = testConfig();
  const topic = uniqueName("gen_stream");
  const p = defaultStreamParams({
    seed: 21,
    events: 20_000,
    eventsPerSecond: 100,
    lateFraction: 0.05,
    maxLatenessMs: 20_000,
    duplicateFraction: 0.03,
    malformedFraction: 0.02,
  });
  const kafka = createKafkaClient(config, { clientSuffix: "gen-test" });
  try {
    let progressCalls = 0;
    const m = await produceStream(config, topic, p, {
      partitions: 3,
      batchSize: 3000,
      onProgress: () => progressCalls++,
    });
    assert.ok(progressCalls >= 7);
    assert.deepEqual(m, computeManifest(p), "produced manifest = dry-run manifest");
    for (const k of VALUE_MALFORMED_KINDS) assert.ok(m.malformed[k] > 0, k);
    assert.ok(m.duplicates > 0);

    const offs = await topicEnds(kafka, topic);
    assert.equal(offs.size, 3);
    assert.equal([...offs.values()].reduce((a, b) => a + b, 0n), BigInt(m.records));

    // independent recount
    const ids = new Set<string>();
    const malformed: Record<string, number> = {};
    const minutes: Record<string, Record<string, number>> = {};
    let records = 0, duplicates = 0, keyMismatch = 0;
    await readTopic(kafka, topic, (batch) => {
      for (const msg of batch.records) {
        records++;
        const v = validateRecord(msg.value);
        if (!v.ok) {
          malformed[v.reason] = (malformed[v.reason] ?? 0) + 1;
        } else if (ids.has(v.event.event_id)) {
          duplicates++;
        } else {
          ids.add(v.event.event_id);
          if ((msg.key ? dec.decode(msg.key) : undefined) !== v.event.user_id) keyMismatch++;
          const w = new Date(Math.floor(v.time / 60000) * 60000).toISOString();
          const c = minutes[w] ??= { revenue_cents: 0 };
          c[v.event.action] = (c[v.event.action] ?? 0) + 1;
          if (v.event.action === "purchase") {
            c.revenue_cents! += Math.round(v.event.price! * 100) * v.event.quantity!;
          }
        }
      }
    }, { to: offs, timeoutMs: 90_000 });
    assert.equal(records, m.records);
    assert.equal(ids.size, m.valid);
    assert.equal(duplicates, m.duplicates);
    assert.equal(keyMismatch, 0, "records are keyed by user_id");
    for (const k of MALFORMED_KINDS) assert.equal(malformed[k] ?? 0, m.malformed[k], k);
    assert.deepEqual(Object.keys(minutes).sort(), Object.keys(m.minutes));
    for (const [w, got] of Object.entries(m.minutes)) {
      for (const a of ACTIONS) assert.equal(minutes[w]![a] ?? 0, got.counts[a], `${w} ${a}`);
      assert.equal(minutes[w]!.revenue_cents, got.revenue_cents, w);
    }
  } finally {
    const admin = kafka.admin();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.close();
  }
});
