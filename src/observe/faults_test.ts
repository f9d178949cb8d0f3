import assert from "node:assert/strict";
import type { ModuleStatus, RunningModule } from "../runtime/module.ts";
import { moduleSummaries } from "./api.ts";
import { renderFamilies } from "./metrics.ts";
import { describeFaults, moduleFaults } from "./module_state.ts";
import { modulesCheck, ReadinessProbe } from "./readiness.ts";
import { statusFamilies } from "./status_metrics.ts";
import { blockLines, RateTracker, renderStatus, statusRows } from "./terminal.ts";
import { parsePrometheus, sampleValue } from "../../tests/fixtures/prom_parser.ts";

const SINCE = Date.UTC(2026, 0, 1, 12, 0, 0);
const REASON =
  "upload raw/topic=t/dt=2026-01-01/hr=12/t-p2-o00000000000000000100-00000000000000000199.ndjson.gz: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id you provided does not exist in our records.";

function mod(name: "archiver" | "aggregator", faults?: ModuleStatus["faults"]): RunningModule {
  return {
    name,
    done: new Promise(() => {}),
    stop: () => Promise.resolve(),
    status: () => ({
      eventsIn: 10,
      eventsOut: 5,
      partitions: { 0: { lag: 1 }, 2: { lag: 3 } },
      ...(faults ? { faults } : {}),
    }),
  };
}

Deno.test("faults: readiness names the module, the partitions and the error", async () => {
  const healthy = mod("aggregator");
  const one = mod("archiver", [{ partition: 2, reason: REASON, since: SINCE }]);
  let r = await new ReadinessProbe([modulesCheck(() => [healthy])]).evaluate();
  assert.equal(r.ready, true);
  r = await new ReadinessProbe([modulesCheck(() => [healthy, one])]).evaluate();
  assert.equal(r.ready, false);
  assert.match(
    r.checks[0]!.reason!,
    /^archiver partition 2 failed: upload raw\/.*: HTTP 403 InvalidAccessKeyId/,
  );
  const two = mod("archiver", [
    { partition: 5, reason: "recover t/5 from the ledger: HTTP 404 NoSuchBucket", since: SINCE },
    { partition: 2, reason: REASON, since: SINCE },
  ]);
  r = await new ReadinessProbe([modulesCheck(() => [two])]).evaluate();
  assert.match(r.checks[0]!.reason!, /^archiver partitions 2,5 failed; partition 2: upload raw/);
  assert.deepEqual(moduleFaults(two).map((f) => f.partition), [2, 5]);
  assert.equal(describeFaults([]), "");
  // a module whose status() throws has no faults to report (and is not made unready by it)
  const broken: RunningModule = {
    ...healthy,
    status: () => {
      throw new Error("x");
    },
  };
  assert.deepEqual(moduleFaults(broken), []);
});

Deno.test("faults: /metrics has nexus_partition_faults per module (0 when none)", async () => {
  const text = await renderFamilies(statusFamilies([
    mod("aggregator"),
    mod("archiver", [
      { partition: 2, reason: REASON, since: SINCE },
      { partition: 0, reason: "x", since: SINCE + 1500 },
    ]),
  ]));
  const fams = parsePrometheus(text);
  assert.equal(fams.get("nexus_partition_faults")?.type, "gauge");
  assert.equal(sampleValue(fams, "nexus_partition_faults", { module: "aggregator" }), 0);
  assert.equal(sampleValue(fams, "nexus_partition_faults", { module: "archiver" }), 2);
  assert.equal(
    sampleValue(fams, "nexus_partition_fault_timestamp_seconds", {
      module: "archiver",
      partition: "0",
    }),
    SINCE / 1000 + 1.5,
  );
  assert.equal(
    sampleValue(fams, "nexus_partition_fault_timestamp_seconds", {
      module: "archiver",
      partition: "2",
    }),
    SINCE / 1000,
  );
  // a partition that is not faulted: 0
  assert.equal(
    sampleValue(fams, "nexus_partition_fault_timestamp_seconds", {
      module: "aggregator",
      partition: "2",
    }),
    0,
  );
});

Deno.test("faults: the terminal marks the module FAULT and adds a line with the error", () => {
  const now = SINCE + 5000;
  const mods = [
    mod("aggregator"),
    mod("archiver", [{ partition: 2, reason: REASON, since: SINCE }]),
  ];
  const rows = statusRows(mods, new RateTracker(), now);
  assert.equal(rows[0]!.faults, undefined);
  assert.deepEqual(rows[1]!.faults, [{ partition: 2, reason: REASON }]);
  const lines = renderStatus(rows, { now });
  assert.equal(lines.length, blockLines(rows));
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^aggregator\s/);
  assert.match(lines[2]!, /^archiver FAULT\s/);
  assert.match(lines[3]!, /^! archiver p2: upload raw\/topic=t/);
  for (const l of lines) assert.ok(l.length <= 80, l);
  const long = renderStatus([{ ...rows[1]!, name: "aggregator" }], { now, width: 40 });
  assert.match(long[1]!, /^aggregator FAULT/);
  assert.ok(long.every((l) => l.length <= 40));
});

Deno.test("faults: the dashboard's module summary says faulted, with the partitions", () => {
  const [a, b] = moduleSummaries([
    mod("aggregator"),
    mod("archiver", [{ partition: 2, reason: REASON, since: SINCE }]),
  ]);
  assert.equal(a!.state, "running");
  assert.deepEqual(a!.faults, []);
  assert.equal(b!.state, "faulted");
  assert.deepEqual(b!.faults, [{
    partition: 2,
    reason: REASON,
    since: "2026-01-01T12:00:00.000Z",
  }]);
});
