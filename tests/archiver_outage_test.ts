/**
 * S3 outage: the S3 server is stopped mid-run for NEXUS_TEST_S3_OUTAGE_MS (default 10000;
 * 30000 by hand). The archiver retries with capped backoff, pauses fetching so unarchived
 * records stay bounded, never exits, and catches up afterwards: no loss, no duplicate.
 *
 * NOTE: this stops the shared stack's S3 server for the outage; other suites using S3 at the
 * same moment see errors.
 */
import assert from "node:assert/strict";
import { createArchiver } from "../src/archiver/mod.ts";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { startService, stopService } from "../stack/mod.ts";
import { freshTopic, serviceRestartsAllowed, testConfig, uniqueName } from "./_support.ts";
import {
  assertExactlyOnce,
  highWatermarks,
  readArchive,
  readTopic,
  waitArchived,
} from "./fixtures/archiver_support.ts";

const OUTAGE_MS = Number(Deno.env.get("NEXUS_TEST_S3_OUTAGE_MS") ?? "10000");
const EVENTS = Number(Deno.env.get("NEXUS_TEST_OUTAGE_EVENTS") ?? "20000");
const log = createLogger("test-archiver", {
  level: (Deno.env.get("NEXUS_TEST_LOG_LEVEL") ?? "error") as "error",
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test({
  name: `archiver rides out a ${OUTAGE_MS / 1000} s S3 outage: no loss, no duplicate`,
  // stops the local stack's S3: not against external services, nor with NEXUS_TEST_NO_RESTARTS=1
  ignore: !serviceRestartsAllowed(),
  fn: async () => {
    const base = testConfig();
    const topic = await freshTopic(base, "arch_s3out", 3);
    const maxRecords = 500;
    const config = testConfig({
      "click-topic": topic,
      "archiver-group": uniqueName("arch_s3out_g"),
      "archive-max-records": String(maxRecords),
      "archive-max-age-ms": "500",
      partitions: "3",
      "kafka-session-timeout-ms": "10000",
    });
    const archiver = await createArchiver({ config, log }, {
      backoff: { baseMs: 200, maxMs: 2000 },
    });
    let ended: string | undefined;
    archiver.done.then(() => ended = "resolved", (e) => ended = `rejected: ${e}`);
    // production spans the outage, so records keep arriving while S3 is down
    const rate = Math.max(500, Math.floor(EVENTS / ((OUTAGE_MS + 8000) / 1000)));
    const producing = produceStream(
      config,
      topic,
      defaultStreamParams({ seed: 5, events: EVENTS }),
      {
        rate,
      },
    );
    producing.catch(() => {});
    try {
      const t0 = Date.now();
      while (archiver.status().eventsOut === 0) {
        assert.ok(Date.now() - t0 < 30_000, "nothing archived before the outage");
        await sleep(100);
      }
      const before = archiver.status().eventsOut;
      await stopService("s3");
      const down = Date.now();
      let maxPaused = 0;
      let maxUnarchived = 0;
      let archivedDuring = 0;
      try {
        while (Date.now() - down < OUTAGE_MS) {
          const s = archiver.status();
          maxPaused = Math.max(maxPaused, Number(s.extra?.pausedPartitions ?? 0));
          maxUnarchived = Math.max(maxUnarchived, s.eventsIn - s.eventsOut);
          archivedDuring = s.eventsOut;
          assert.equal(ended, undefined, "the archiver must not exit during an outage");
          await sleep(200);
        }
      } finally {
        await startService("s3");
      }
      const up = Date.now();
      const manifest = await producing;
      const high = await highWatermarks(config, topic);
      await waitArchived(config, topic, 90_000, high);
      const caughtUp = Date.now() - up;
      const s = archiver.status();
      assert.equal(ended, undefined);
      assert.equal(s.eventsOut, manifest.records, "every record archived once");
      assert.ok(maxPaused > 0, "fetching paused while S3 was down");
      assert.ok(
        maxUnarchived <= 3 * 3 * maxRecords,
        `unarchived records bounded: ${maxUnarchived} > ${3 * 3 * maxRecords}`,
      );
      console.log(
        `${manifest.records} records; ${before} archived before, ${
          archivedDuring - before
        } during a ${OUTAGE_MS} ms outage (max ${maxUnarchived} unarchived in memory, ${maxPaused} partitions paused); caught up ${caughtUp} ms after S3 came back`,
      );
    } finally {
      await archiver.stop();
    }
    const lag = archiver.status().extra?.lag;
    assert.equal(lag, 0, "lag recovered");
    assertExactlyOnce(await readTopic(config, topic), await readArchive(config, topic));
  },
});
