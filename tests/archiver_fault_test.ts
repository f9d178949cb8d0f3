/**
 * Archiver fault (acceptance (e) of the fault-visibility issue): the archiver's S3 key is
 * revoked mid-run. `main.ts run --modules archiver` runs as a child with an S3 identity of
 * its own (added to the stack's running SeaweedFS with `weed shell s3.configure`, see
 * `fixtures/s3_identity.ts`; the stack's own key is untouched, so other suites are not
 * disturbed). While records are produced, the identity is deleted:
 *
 * - `/readyz` must say not ready, naming the faulted archiver partition, within 10 s;
 * - `/metrics` shows `nexus_partition_faults{module="archiver"}` > 0, the dashboard API
 *   "faulted";
 * - `run` must exit non-zero within NEXUS_FAULT_EXIT_MS (5000 here, not the 30000 default,
 *   to keep the test short) plus a margin for detecting the fault and stopping (10 s).
 *
 * Then the key is restored (the same identity created again), the archiver restarted, and the
 * archive must hold every record of the topic exactly once. The measured figures are printed.
 *
 * Sizes: NEXUS_TEST_FAULT_EVENTS (default 15000, produced over ~15 s).
 */
import assert from "node:assert/strict";
import { defaultStreamParams, produceStream } from "../src/generator/mod.ts";
import { parsePrometheus, sampleValue } from "./fixtures/prom_parser.ts";
import { usesLocalStack } from "./_support.ts";
import {
  assertExactlyOnce,
  highWatermarks,
  readArchive,
  readTopic,
  waitArchived,
} from "./fixtures/archiver_support.ts";
import {
  type NexusChild,
  scenario,
  sleep,
  spawnNexus,
  stopNexus,
} from "./fixtures/scale_support.ts";
import {
  addIdentity,
  identityWorks,
  newIdentity,
  removeIdentity,
  weedShell,
} from "./fixtures/s3_identity.ts";

const FAULT_EXIT_MS = 5000;
const READY_BOUND_MS = 10_000;
const EXIT_MARGIN_MS = 10_000;
const EVENTS = Number(Deno.env.get("NEXUS_TEST_FAULT_EVENTS") ?? "15000");
const RATE = 1000;

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function getText(url: string): Promise<{ status: number; text: string }> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
    return { status: r.status, text: await r.text() };
  } catch (e) {
    return { status: 0, text: String(e) };
  }
}

/** `nexus_events_total{module="archiver",direction="out"}`, or -1 when unreadable. */
async function archivedOut(base: string): Promise<number> {
  const r = await getText(`${base}/metrics`);
  if (r.status !== 200) return -1;
  return sampleValue(parsePrometheus(r.text), "nexus_events_total", {
    module: "archiver",
    direction: "out",
  }) ?? -1;
}

Deno.test({
  name: "archiver: S3 key revoked mid-run → not ready, exits non-zero; restored → exactly once",
  // needs the local stack's SeaweedFS and its `weed` binary to add and revoke a key
  ignore: !usesLocalStack(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const s = await scenario("arch_fault", 3);
    const id = newIdentity(s.config.archiveBucket, "nexus-arch-fault");
    const childEnv = {
      S3_ACCESS_KEY_ID: id.accessKeyId,
      S3_SECRET_ACCESS_KEY: id.secretAccessKey,
      NEXUS_FAULT_EXIT_MS: String(FAULT_EXIT_MS),
      NEXUS_HTTP_PORT: String(port),
      NEXUS_ARCHIVE_MAX_RECORDS: "500",
      NEXUS_ARCHIVE_MAX_AGE_MS: "500",
      NEXUS_SHUTDOWN_TIMEOUT_MS: "10000",
    };
    const children: NexusChild[] = [];
    try {
      await addIdentity(s.config, id);
      s.phase(`S3 identity ${id.user} added`);

      const first = spawnNexus(s, "archiver-1", { modules: "archiver", env: childEnv });
      children.push(first);
      await first.waitFor(/archiver started/, 90_000);
      s.phase("archiver started");

      const producing = produceStream(
        s.config,
        s.topic,
        defaultStreamParams({ seed: 11, events: EVENTS }),
        { rate: RATE },
      );
      producing.catch(() => {});

      // records flow and objects become durable with the archiver's own key
      const flowDeadline = Date.now() + 30_000;
      while ((await archivedOut(base)) <= 0) {
        assert.ok(Date.now() < flowDeadline, "nothing archived before the revocation");
        await sleep(100);
      }
      const before = await archivedOut(base);
      let r = await getText(`${base}/readyz`);
      assert.equal(r.status, 200, `ready before the revocation: ${r.text}`);

      // revoke the key while records keep arriving
      const revokeStart = Date.now();
      await removeIdentity(s.config, id);
      const revokeDone = Date.now();
      s.phase(`S3 identity revoked (weed shell took ${revokeDone - revokeStart} ms)`);

      let notReadyAt: number | undefined;
      let faultAt: number | undefined;
      let faultReason = "";
      while (faultAt === undefined && Date.now() - revokeStart < READY_BOUND_MS + 5000) {
        r = await getText(`${base}/readyz`);
        if (r.status === 503) {
          notReadyAt ??= Date.now();
          const body = JSON.parse(r.text) as { checks: { name: string; reason?: string }[] };
          const modules = body.checks.find((c) => c.name === "modules");
          if (modules?.reason?.includes("archiver partition")) {
            faultAt = Date.now();
            faultReason = modules.reason;
          }
        }
        if (faultAt === undefined) await sleep(100);
      }
      assert.ok(notReadyAt !== undefined, "/readyz never said not ready");
      assert.ok(faultAt !== undefined, `/readyz never named a faulted partition: ${r.text}`);
      const notReadyMs = notReadyAt - revokeStart;
      const faultMs = faultAt - revokeStart;
      s.phase(`/readyz not ready after ${notReadyMs} ms, fault named after ${faultMs} ms`);
      assert.ok(notReadyMs <= READY_BOUND_MS, `/readyz not ready after ${notReadyMs} ms`);
      assert.ok(faultMs <= READY_BOUND_MS, `fault shown after ${faultMs} ms`);
      assert.match(faultReason, /archiver partitions? [\d,]+ failed.*HTTP 403/);

      // the same fault in /metrics and the dashboard's API (the process is still up)
      const metrics = await getText(`${base}/metrics`);
      const faults = sampleValue(parsePrometheus(metrics.text), "nexus_partition_faults", {
        module: "archiver",
      });
      assert.ok((faults ?? 0) >= 1, `nexus_partition_faults{module="archiver"} = ${faults}`);
      const dash = JSON.parse((await getText(`${base}/api/modules`)).text) as {
        modules: { name: string; state: string; faults: unknown[] }[];
      };
      assert.equal(dash.modules[0]?.state, "faulted");

      // run exits non-zero within the bound
      const exitDeadline = FAULT_EXIT_MS + READY_BOUND_MS + EXIT_MARGIN_MS;
      const st = await Promise.race([
        first.exited,
        sleep(exitDeadline).then(() => undefined),
      ]);
      assert.ok(st, `run still running ${exitDeadline} ms after the revocation`);
      const exitMs = Date.now() - revokeStart;
      s.phase(`run exited with code ${st.code} after ${exitMs} ms`);
      assert.notEqual(st.code, 0, "run exits non-zero");
      assert.ok(
        exitMs <= faultMs + FAULT_EXIT_MS + EXIT_MARGIN_MS,
        `run exited ${exitMs} ms after the revocation (fault at ${faultMs} ms)`,
      );
      assert.ok(
        exitMs >= faultMs + FAULT_EXIT_MS - 1500,
        `run exited after ${exitMs} ms: sooner than NEXUS_FAULT_EXIT_MS after the fault`,
      );
      assert.ok(first.lines.some((l) => /partition cannot go on/.test(l)), "fault logged");
      assert.ok(first.lines.some((l) => /module failed/.test(l)), "module failure logged");

      // the key restored: a restart archives everything exactly once
      await addIdentity(s.config, id);
      s.phase("S3 identity restored");
      const second = spawnNexus(s, "archiver-2", { modules: "archiver", env: childEnv });
      children.push(second);
      await second.waitFor(/archiver started/, 90_000);
      const manifest = await producing;
      const high = await highWatermarks(s.config, s.topic);
      await waitArchived(s.config, s.topic, 90_000, high);
      s.phase("archive complete after the restart");
      r = await getText(`${base}/readyz`);
      assert.equal(r.status, 200, `ready again after the restart: ${r.text}`);
      assert.equal(await stopNexus(second), 0, "the restarted archiver stops cleanly");
      const topicRecords = await readTopic(s.config, s.topic);
      assert.equal(topicRecords.length, manifest.records);
      assertExactlyOnce(topicRecords, await readArchive(s.config, s.topic));
      console.log(
        `archiver fault: ${manifest.records} records (${before} archived before the revocation); ` +
          `key revoked → /readyz not ready after ${notReadyMs} ms, faulted partition named after ` +
          `${faultMs} ms; run exited ${st.code} after ${exitMs} ms ` +
          `(NEXUS_FAULT_EXIT_MS=${FAULT_EXIT_MS}); key restored → restart archived every record ` +
          `exactly once. log: ${s.logFile}`,
      );
    } finally {
      for (const c of children) c.signal("SIGKILL");
      await Promise.all(children.map((c) => c.exited));
      // always: the identity may exist even when adding it timed out
      await weedShell(s.config, `s3.configure -user=${id.user} -delete -apply`).catch((e) =>
        console.error(`could not delete the test S3 identity ${id.user}: ${e}`)
      );
      if (await identityWorks(s.config, id).catch(() => false)) {
        console.error(`the test S3 identity ${id.user} still works: delete it by hand`);
      }
      await s.cleanup();
    }
  },
});
