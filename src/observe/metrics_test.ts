import assert from "node:assert/strict";
import fc from "fast-check";
import { Gauge } from "prom-client";
import { MODULE_NAMES, type ModuleName } from "../config/mod.ts";
import { MALFORMED_KINDS } from "../events/mod.ts";
import type { PartitionProgress } from "../kafka/mod.ts";
import type { ModuleStatus, RunningModule } from "../runtime/module.ts";
import { type AggregatorShared, emptyStats } from "../aggregator/handler.ts";
import { aggregatorStatus } from "../aggregator/status.ts";
import type { ArchiverShared } from "../archiver/handler.ts";
import { BufferBudget } from "../archiver/budget.ts";
import { archiverStatus } from "../archiver/status.ts";
import type { PartitionLag } from "./lag.ts";
import {
  countDeadLetters,
  FAMILIES,
  type FamilyName,
  publishedMetrics,
  recordFlush,
  Registry,
  renderFamilies,
} from "./metrics.ts";
import { MetricsScraper } from "./scrape.ts";
import { statusFamilies } from "./status_metrics.ts";
import {
  documentedFamilies,
  parsePrometheus,
  sampleValue,
} from "../../tests/fixtures/prom_parser.ts";

const NAMES = Object.keys(FAMILIES) as FamilyName[];
const DOCS = new URL("../../docs/observability.md", import.meta.url);

function running(name: RunningModule["name"], status: () => ModuleStatus): RunningModule {
  return { name, done: new Promise(() => {}), stop: () => Promise.resolve(), status };
}

function progress(partition: number, extra: Partial<PartitionProgress> = {}): PartitionProgress {
  return {
    partition,
    state: "running",
    position: 10n,
    highWatermark: 12n,
    lag: 2,
    queued: 0,
    ...extra,
  };
}

/** Every module with the status its real code builds (generator and loader: their shape). */
function realModules(): RunningModule[] {
  const agg = {
    closed: { ...emptyStats(), eventsIn: 5, late: 1, dead: 2, duplicates: 3 },
    handlers: new Set(),
    lastFlushAt: 1_700_000_000_000,
  } as unknown as AggregatorShared;
  const arc = {
    handlers: new Set(),
    totals: { eventsIn: 7, eventsOut: 6, bytesUploaded: 300, objects: 2 },
    budget: new BufferBudget(1024),
  } as unknown as ArchiverShared;
  return [
    running("generator", () => ({ eventsIn: 0, eventsOut: 9, extra: { rate: 100, topic: "t" } })),
    running(
      "loader",
      () => ({ eventsIn: 4, eventsOut: 0, extra: { filesLoaded: 1, rejected: 0 } }),
    ),
    running("aggregator", () => aggregatorStatus(agg, [progress(0), progress(1)])),
    running("archiver", () => archiverStatus(arc, [progress(0)])),
  ];
}

const lagRow: PartitionLag = {
  module: "aggregator",
  group: "g",
  topic: "t",
  partition: 0,
  low: 0,
  end: 10,
  committed: 4,
  stored: 5,
  watermark: null,
  archived: null,
  lag: 5,
};

/** The families a run of `modules` serves, from the one table. */
function familiesFor(modules: readonly ModuleName[]): FamilyName[] {
  return (Object.keys(FAMILIES) as FamilyName[]).filter((n) =>
    (FAMILIES[n].modules as readonly ModuleName[]).some((m) => modules.includes(m))
  );
}

Deno.test("metrics: family names follow the Prometheus conventions", () => {
  for (const n of NAMES) {
    const f = FAMILIES[n];
    assert.match(n, /^nexus_[a-z_]+[a-z]$/, n);
    assert.equal(n.endsWith("_total"), f.type === "counter", `${n}: _total iff a counter`);
    if (/timestamp|duration|watermark/.test(n)) assert.ok(n.endsWith("_seconds"), n);
    if (/bytes/.test(n)) assert.ok(/_bytes(_total)?$/.test(n), n);
    assert.ok(!(f.labels as readonly string[]).includes("le"), n);
    assert.ok(f.help.length > 10, n);
    for (const m of f.modules) {
      assert.ok((MODULE_NAMES as readonly string[]).includes(m), `${n}: module ${m}`);
    }
  }
});

Deno.test("metrics: docs/observability.md lists exactly the families, types, labels and modules", async () => {
  const docs = documentedFamilies(await Deno.readTextFile(DOCS));
  assert.deepEqual([...docs.keys()].sort(), [...NAMES].sort());
  for (const n of NAMES) {
    const d = docs.get(n)!;
    const f = FAMILIES[n];
    assert.equal(d.type, f.type, n);
    assert.deepEqual(d.labels, [...f.labels], n);
    assert.deepEqual([...d.modules].sort(), [...f.modules].sort(), n);
  }
});

Deno.test("metrics: every status family has a sample from each module's real status", async () => {
  const mods = realModules();
  const fams = parsePrometheus(await renderFamilies(statusFamilies(mods)));
  for (const m of mods) {
    const expected = familiesFor([m.name as ModuleName]).filter((n) =>
      FAMILIES[n].source === "status"
    );
    for (const n of expected) {
      const f = fams.get(n);
      assert.ok(f && f.samples.length > 0, `${n} has no sample`);
      if ((FAMILIES[n].labels as readonly string[]).includes("module")) {
        assert.ok(f.samples.some((s) => s.labels.module === m.name), `${n} of ${m.name}`);
      }
    }
  }
  const v = (n: string, l: Record<string, string> = {}) => sampleValue(fams, n, l);
  assert.equal(v("nexus_events_total", { module: "generator", direction: "out" }), 9);
  assert.equal(v("nexus_events_total", { module: "aggregator", direction: "in" }), 5);
  assert.equal(v("nexus_late_events_total", { module: "aggregator" }), 1);
  assert.equal(v("nexus_aggregator_duplicates_total"), 3);
  assert.equal(v("nexus_archive_bytes_total"), 300);
  assert.equal(v("nexus_archive_buffer_limit_bytes"), 1024);
  assert.equal(v("nexus_loader_files_total"), 1);
  assert.equal(v("nexus_last_flush_timestamp_seconds", { module: "aggregator" }), 1_700_000_000);
  assert.equal(v("nexus_last_flush_timestamp_seconds", { module: "archiver" }), 0);
  // no watermark yet, not faulted: 0
  assert.equal(v("nexus_watermark_seconds", { module: "aggregator", partition: "1" }), 0);
  assert.equal(
    v("nexus_partition_fault_timestamp_seconds", { module: "archiver", partition: "0" }),
    0,
  );
  assert.equal(fams.get("nexus_watermark_seconds")!.samples.length, 2);
  for (const f of fams.values()) assert.ok(f.samples.length > 0, f.name);
});

Deno.test("metrics: a configured module not running yet is only 0 in nexus_module_up", async () => {
  const fams = parsePrometheus(
    await renderFamilies(statusFamilies([], ["generator", "archiver"])),
  );
  assert.deepEqual([...fams.keys()], ["nexus_module_up"]);
  assert.equal(sampleValue(fams, "nexus_module_up", { module: "archiver" }), 0);
  const broken = running("archiver", () => {
    throw new Error("x");
  });
  const only = parsePrometheus(await renderFamilies(statusFamilies([broken], ["archiver"])));
  assert.deepEqual([...only.keys()], ["nexus_module_up"]);
  assert.equal(sampleValue(only, "nexus_module_up", { module: "archiver" }), 1);
});

Deno.test("metrics: published figures start at 0 per running module and keep what was published", async () => {
  // before anything was published for the archiver: a 0 histogram
  let fams = parsePrometheus(await renderFamilies([], publishedMetrics(["archiver"])));
  assert.deepEqual([...fams.keys()], ["nexus_flush_duration_seconds"]);
  const count = (m: string) =>
    sampleValue(fams, "nexus_flush_duration_seconds_count", { module: m });
  assert.ok(count("archiver")! >= 0);
  const before = count("archiver")!;
  recordFlush("archiver", 0.02);
  recordFlush("aggregator", 0.3);
  countDeadLetters("aggregator", [{ reason: "not_json" }, { reason: "not_json" }]);
  fams = parsePrometheus(await renderFamilies([], publishedMetrics(["archiver", "aggregator"])));
  assert.equal(count("archiver"), before + 1, "zeroing again must not wipe observations");
  assert.ok(count("aggregator")! >= 1);
  const dead = fams.get("nexus_dead_letters_total")!;
  assert.equal(dead.type, "counter");
  for (const reason of MALFORMED_KINDS) {
    assert.ok(dead.samples.some((s) => s.labels.reason === reason), reason);
  }
  assert.ok(sampleValue(fams, "nexus_dead_letters_total", { reason: "not_json" })! >= 2);
  assert.deepEqual(publishedMetrics(["generator", "loader"]), []);
});

Deno.test("metrics: families without samples are left out; wrong labels are refused", async () => {
  const text = await renderFamilies([
    { name: "nexus_archive_bytes_total", samples: [] },
    { name: "nexus_archive_buffered_bytes", samples: [{ labels: {}, value: NaN }] },
    {
      name: "nexus_kafka_end_offset",
      samples: [{ labels: { topic: "t", partition: "0" }, value: 3 }],
    },
  ]);
  assert.deepEqual([...parsePrometheus(text).keys()], ["nexus_kafka_end_offset"]);
  assert.match(text, /^# HELP nexus_kafka_end_offset /);
  assert.equal(await renderFamilies([]), "");
  await assert.rejects(
    renderFamilies([{ name: "nexus_module_up", samples: [{ labels: { nope: "x" }, value: 1 }] }]),
  );
  await assert.rejects(
    renderFamilies([{ name: "nexus_archive_bytes_total", samples: [{ labels: {}, value: -1 }] }]),
  );
});

Deno.test("metrics: any label value round-trips through prom-client and the strict parser", async () => {
  await fc.assert(
    fc.asyncProperty(fc.string({ unit: "binary", maxLength: 30 }), async (topic) => {
      const fams = parsePrometheus(
        await renderFamilies([{
          name: "nexus_kafka_end_offset",
          samples: [{ labels: { topic, partition: "0" }, value: 1 }],
        }]),
      );
      assert.equal(fams.get("nexus_kafka_end_offset")?.samples[0]?.labels.topic, topic);
    }),
    { numRuns: 200 },
  );
  const fams = parsePrometheus(
    await renderFamilies([{
      name: "nexus_archive_buffered_bytes",
      samples: [{ labels: {}, value: Infinity }],
    }, {
      name: "nexus_kafka_end_offset",
      samples: [{ labels: { topic: "t", partition: "0" }, value: 1e21 }],
    }]),
  );
  assert.equal(sampleValue(fams, "nexus_archive_buffered_bytes", {}), Infinity);
  assert.equal(sampleValue(fams, "nexus_kafka_end_offset", {}), 1e21);
});

Deno.test("metrics: a lag report that hangs or fails never holds a scrape", async () => {
  const mods = [running("aggregator", () => ({ eventsIn: 1, eventsOut: 0, late: 0 }))];
  let calls = 0;
  let answer: () => Promise<PartitionLag[]> = () => Promise.resolve([lagRow]);
  const errors: string[] = [];
  const scraper = new MetricsScraper({
    configured: ["aggregator"],
    running: () => mods,
    lag: () => (calls++, answer()),
    lagWaitMs: 100,
    onError: (what) => errors.push(what),
  });
  let fams = parsePrometheus(await scraper.render());
  assert.equal(sampleValue(fams, "nexus_kafka_consumer_group_lag", { partition: "0" }), 5);

  // hangs: served within the wait, with the last report; only one request in flight
  const hang = Promise.withResolvers<PartitionLag[]>();
  answer = () => hang.promise;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    fams = parsePrometheus(await scraper.render());
    assert.ok(performance.now() - t0 < 1000);
    assert.equal(sampleValue(fams, "nexus_kafka_consumer_group_lag", { partition: "0" }), 5);
  }
  assert.equal(calls, 2);
  hang.resolve([{ ...lagRow, lag: 2 }]);
  await new Promise((r) => setTimeout(r, 0)); // the late report lands
  answer = () => Promise.reject(new Error("kafka down"));
  fams = parsePrometheus(await scraper.render());
  assert.equal(sampleValue(fams, "nexus_kafka_consumer_group_lag", { partition: "0" }), 2);
  assert.deepEqual(errors, ["lag", "lag", "lag"]);

  // failing with no recent report: the lag families are left out, the rest is served
  const fresh = new MetricsScraper({
    configured: ["aggregator"],
    running: () => mods,
    lag: () => Promise.reject(new Error("kafka down")),
  });
  fams = parsePrometheus(await fresh.render());
  assert.equal(fams.has("nexus_kafka_end_offset"), false);
  assert.equal(sampleValue(fams, "nexus_events_total", { direction: "in" }), 1);
  // no consumer configured: no lag requested at all
  const none = new MetricsScraper({
    configured: ["generator"],
    running: () => [],
    lag: () => Promise.reject(new Error("not asked")),
    onError: () => assert.fail("lag asked"),
  });
  await none.render();
});

Deno.test("metrics: status counters never go down; extra metrics are served too", async () => {
  let late = 3;
  const extra = new Registry();
  new Gauge({ name: "t_extra", help: "a metric of the caller's", registers: [extra] }).set(7);
  const mods = [running("aggregator", () => ({ eventsIn: 1, eventsOut: 0, late }))];
  const scraper = new MetricsScraper({ configured: ["aggregator"], running: () => mods, extra });
  const lateOf = async () =>
    sampleValue(parsePrometheus(await scraper.render()), "nexus_late_events_total", {});
  assert.equal(await lateOf(), 3);
  late = 2; // a late event later dead-lettered as unstorable
  assert.equal(await lateOf(), 3);
  late = 4;
  assert.equal(await lateOf(), 4);
  assert.equal(sampleValue(parsePrometheus(await scraper.render()), "t_extra", {}), 7);
});

Deno.test("prom parser: rejects malformed expositions", () => {
  const bad = [
    "x 1", // no trailing newline
    'x{a="1"} one\n',
    'x{a="\\q"} 1\n',
    "x{a=1} 1\n",
    "# TYPE x counter\nx -1\n",
    "# TYPE x gauge\nx 1\nx 2\n",
    '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 1\nx{a="b"} 1\n',
    "# TYPE x gauge\n# TYPE x gauge\nx 1\n",
    "# TYPE x wrong\nx 1\n",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_count 1\n', // no _sum
  ];
  for (const b of bad) assert.throws(() => parsePrometheus(b), Error, JSON.stringify(b));
});
