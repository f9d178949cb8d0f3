/**
 * Acceptance of the metrics issue: `main.ts run --modules generator,aggregator,archiver` runs
 * as a child; once records flow (the aggregator's checkpoints and the archiver's uploads
 * move), `/metrics` is scraped a few times and parsed strictly. Each scrape must
 *
 * - have a sample in every family it declares (every `# TYPE` line);
 * - serve exactly the families docs/observability.md lists for these modules, with the same
 *   types and labels (so the docs and the code cannot drift apart);
 * - answer quickly.
 *
 * Then SIGTERM must stop the child with exit code 0.
 */
import assert from "node:assert/strict";
import { createKafkaClient } from "../src/kafka/mod.ts";
import { freePort } from "./fixtures/free_port.ts";
import { documentedFamilies, parsePrometheus, sampleValue } from "./fixtures/prom_parser.ts";
import { scenario, sleep, spawnNexus, stopNexus } from "./fixtures/scale_support.ts";

const MODULES = ["generator", "aggregator", "archiver"];
const PARTITIONS = 3;
const SCRAPES = 3;
const DOCS = new URL("../docs/observability.md", import.meta.url);

async function scrape(base: string): Promise<{ text: string; ms: number; type: string | null }> {
  const t0 = performance.now();
  const r = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  return { text, ms: performance.now() - t0, type: r.headers.get("content-type") };
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(250);
  }
}

Deno.test({
  name: "observe: /metrics during a run of all modules: every family has samples, as documented",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const s = await scenario("obs_metrics", PARTITIONS);
    const child = spawnNexus(s, "nexus", {
      modules: MODULES.join(","),
      env: { NEXUS_HTTP_PORT: String(port), NEXUS_GENERATOR_RATE: "300" },
    });
    let stopped = false;
    try {
      await child.waitFor(/archiver started/, 90_000);
      s.phase("modules started");
      await until("the aggregator's checkpoints to move", 60_000, async () => {
        const [row] = await s.db.sql<{ n: string }[]>`
          select coalesce(sum(next_offset), 0)::text as n from consumer_checkpoints
          where topic = ${s.topic}`;
        return Number(row?.n ?? 0) > 0;
      });
      await until("the archiver's first upload", 60_000, async () => {
        const fams = parsePrometheus((await scrape(base)).text);
        return (sampleValue(fams, "nexus_archive_objects_total", {}) ?? 0) > 0;
      });
      s.phase("records flow");

      const documented = new Map(
        [...documentedFamilies(await Deno.readTextFile(DOCS))]
          .filter(([, d]) => d.modules.some((m) => MODULES.includes(m))),
      );
      assert.ok(documented.size > 10, "the docs' metrics table was found");
      for (let i = 0; i < SCRAPES; i++) {
        if (i > 0) await sleep(1000);
        const { text, ms, type } = await scrape(base);
        assert.equal(type, "text/plain; version=0.0.4; charset=utf-8");
        const fams = parsePrometheus(text); // strict: throws on malformed output
        const declared = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
        assert.ok(declared.length > 0);
        for (const name of declared) {
          assert.ok(fams.get(name)!.samples.length > 0, `scrape ${i}: ${name} has no sample`);
        }
        assert.deepEqual(
          [...declared].sort(),
          [...documented.keys()].sort(),
          `scrape ${i}: families served ≠ families documented for ${MODULES}`,
        );
        for (const name of declared) {
          const f = fams.get(name)!;
          const labels = new Set(f.samples.flatMap((x) => Object.keys(x.labels)));
          labels.delete("le");
          assert.equal(f.type, documented.get(name)!.type, `${name}: type`);
          assert.deepEqual(
            [...labels].sort(),
            [...documented.get(name)!.labels].sort(),
            `${name}: labels`,
          );
        }
        const v = (n: string, l: Record<string, string> = {}) => sampleValue(fams, n, l) ?? -1;
        for (const module of MODULES) assert.equal(v("nexus_module_up", { module }), 1, module);
        assert.ok(v("nexus_events_total", { module: "generator", direction: "out" }) > 0);
        assert.ok(v("nexus_events_total", { module: "aggregator", direction: "in" }) > 0);
        assert.ok(v("nexus_events_total", { module: "archiver", direction: "out" }) > 0);
        assert.ok(v("nexus_archive_bytes_total") > 0);
        assert.equal(v("nexus_partition_faults", { module: "archiver" }), 0);
        assert.ok(v("nexus_flush_duration_seconds_count", { module: "aggregator" }) > 0);
        assert.ok(v("nexus_flush_duration_seconds_count", { module: "archiver" }) > 0);
        assert.ok(
          fams.get("nexus_watermark_seconds")!.samples.some((x) => x.value > 1.7e9),
          "a watermark in Unix seconds",
        );
        for (const group of [s.config.aggregatorGroup, s.config.archiverGroup]) {
          const lag = fams.get("nexus_kafka_consumer_group_lag")!.samples
            .filter((x) => x.labels.group === group && x.labels.topic === s.topic);
          assert.equal(lag.length, PARTITIONS, `lag of ${group} per partition`);
        }
        assert.ok(ms < 2500, `scrape ${i} took ${Math.round(ms)} ms`);
        s.phase(`scrape ${i}: ${declared.length} families, ${Math.round(ms)} ms`);
      }

      const code = await stopNexus(child);
      stopped = true;
      assert.equal(code, 0, `exit code after SIGTERM; log: ${s.logFile}`);
    } finally {
      if (!stopped) {
        child.signal("SIGKILL");
        await child.exited;
      }
      const admin = createKafkaClient(s.config, { clientSuffix: "test-admin" }).admin();
      await admin.deleteTopics([s.topic, s.config.dlqTopic]).catch(() => {});
      await admin.close().catch(() => {});
      await s.cleanup();
    }
  },
});
