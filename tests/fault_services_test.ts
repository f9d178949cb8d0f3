/**
 * Faults of the shared services while two Nexus processes (`main.ts run --modules
 * aggregator,archiver`) consume a stream being produced: PostgreSQL is restarted mid-run
 * (`restartService("postgres")`), then S3 is unavailable for a while (`stopService("s3")` …
 * `startService("s3")`). Nothing is done by hand: the processes ride out both outages and the
 * results are exact (views + late ledger = manifest, dead letters = manifest, archive = topic
 * exactly once). Runs only on the local stack (it stops shared services).
 *
 * Size: NEXUS_TEST_EVENTS (default 20000) over NEXUS_TEST_PRODUCE_SECONDS (default 30);
 * S3 outage NEXUS_TEST_S3_OUTAGE_MS (default 8000).
 */
import { restartService, startService, stopService } from "../stack/mod.ts";
import { serviceRestartsAllowed } from "./_support.ts";
import {
  assertExact,
  childReport,
  killAll,
  nexusReady,
  produceLive,
  scenario,
  sleep,
  spawnNexus,
  stopAllCleanly,
  topicEndOffsets,
} from "./fixtures/scale_support.ts";

const EVENTS = Number(Deno.env.get("NEXUS_TEST_EVENTS") ?? 20_000);
const PRODUCE_SECONDS = Number(Deno.env.get("NEXUS_TEST_PRODUCE_SECONDS") ?? 30);
const S3_OUTAGE_MS = Number(Deno.env.get("NEXUS_TEST_S3_OUTAGE_MS") ?? 8000);

Deno.test({
  name:
    `fault: Postgres restarted and S3 down ${S3_OUTAGE_MS} ms mid-run, exact results (${EVENTS} events)`,
  ignore: !serviceRestartsAllowed(),
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const quiet = { log: (l: string) => console.error(`stack: ${l}`) };
    const s = await scenario("fault_services", 6);
    const children = [spawnNexus(s, "nexus-1"), spawnNexus(s, "nexus-2")];
    let s3Down = false;
    try {
      await Promise.all(children.map((c) => nexusReady(c)));
      s.phase("2 processes ready");
      const producing = (await produceLive(s, PRODUCE_SECONDS, {
        seed: 47,
        events: EVENTS,
      })).done;
      await sleep(PRODUCE_SECONDS * 250);
      const t1 = performance.now();
      await restartService("postgres", quiet);
      s.phase(`postgres restarted (${Math.round(performance.now() - t1)} ms)`);
      await sleep(PRODUCE_SECONDS * 250);
      s3Down = true;
      await stopService("s3", quiet);
      s.phase("s3 stopped");
      await sleep(S3_OUTAGE_MS);
      await startService("s3", quiet);
      s3Down = false;
      s.phase("s3 started again");
      const manifest = await producing;
      s.phase(`produced ${manifest.records} records`);
      const ends = await topicEndOffsets(s.config, s.topic);
      const r = await assertExact(s, manifest, ends, 180_000);
      const retries = children.flatMap((c) =>
        c.lines
      ).filter((l) => /retrying|will retry/i.test(l)).length;
      s.phase(
        `exact: ${r.valid} valid, ${r.late} late, ${r.dead} dead letters, ${r.records} records ` +
          `archived once in ${r.objects} objects; ${retries} retry log lines; lost 0`,
      );
      await stopAllCleanly(children);
    } catch (e) {
      console.error(`[fault_services] child logs: ${s.logFile}\n${childReport(children)}`);
      throw e;
    } finally {
      if (s3Down) await startService("s3", quiet).catch(() => {});
      await killAll(children);
      await s.cleanup();
    }
  },
});
