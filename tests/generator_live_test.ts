/** The generator module (`run --modules generator`): live events at a rate until stopped. */
import assert from "node:assert/strict";
import type { Config } from "../src/config/mod.ts";
import { validateRecord } from "../src/events/mod.ts";
import { startGenerator } from "../src/generator/mod.ts";
import { createKafkaClient, readTopic, topicEnds } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { testConfig, uniqueName } from "./_support.ts";

Deno.test("generator module streams live events at its rate until stop()", async () => {
  const base = testConfig();
  const config = {
    ...base,
    clickTopic: uniqueName("gen_live"),
    partitions: 2,
    generatorRate: 400,
  } as Config;
  const kafka = createKafkaClient(config, { clientSuffix: "gen-live-test" });
  try {
    const before = Date.now();
    const m = await startGenerator({ config, log: createLogger("test") });
    await new Promise((r) => setTimeout(r, 2500));
    await m.stop();
    await m.stop(); // idempotent
    await m.done;
    const sent = m.status().eventsOut;
    // 400/s for ~2.5 s, plus malformed/duplicate extras; generous bounds for a busy machine
    assert.ok(sent >= 300 && sent <= 1400, `sent ${sent}`);
    const offs = await topicEnds(kafka, config.clickTopic);
    assert.equal([...offs.values()].reduce((a, b) => a + b, 0n), BigInt(sent));

    // an independent read of everything produced
    let seen = 0, liveTimes = 0;
    await readTopic(kafka, config.clickTopic, (b) => {
      for (const r of b.records) {
        seen++;
        const v = validateRecord(r.value);
        if (v.ok && v.time >= before - 60_000 && v.time <= Date.now()) liveTimes++;
      }
    }, { to: offs, timeoutMs: 30_000 });
    assert.equal(seen, sent, "every record read back");
    assert.ok(liveTimes > sent * 0.9, `event times are "now": ${liveTimes}/${sent}`);
  } finally {
    const admin = kafka.admin();
    await admin.deleteTopics([config.clickTopic]).catch(() => {});
    await admin.close();
  }
});
