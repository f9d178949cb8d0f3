/**
 * The benchmark at a tiny size (20,000 events), within 3 minutes: the results JSON has all six
 * measurements with finite figures, baselines and ratios. Results go to a temp dir, never to
 * bench/results, and bench/README.md is not touched.
 */
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { MEASUREMENTS } from "../bench/context.ts";
import { type BenchResult, missingFigures } from "../bench/report.ts";

Deno.test({
  name: "bench: a 20k-event run yields all six measurements with numbers and ratios",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "bench_smoke_" });
    try {
      const t0 = performance.now();
      const run = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../bench/run.ts", import.meta.url).pathname,
          "--events",
          "20000",
          "--name",
          "ci-smoke",
          "--out-dir",
          out,
          "--latency-seconds",
          "5",
          "--client-records",
          "0",
          "--profile-events",
          "0",
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(180_000),
      }).output();
      const seconds = (performance.now() - t0) / 1000;
      const err = new TextDecoder().decode(run.stderr);
      const files = [...Deno.readDirSync(out)].map((e) => e.name);
      assertEquals(files.length, 1, `one results file expected; stderr:\n${err.slice(-2000)}`);
      assert(files[0]!.endsWith("-ci-smoke.json"));
      const r = JSON.parse(await Deno.readTextFile(`${out}/${files[0]}`)) as BenchResult;
      assertEquals(r.format, "nexus-bench/1");
      assertEquals(Object.keys(r.errors), [], JSON.stringify(r.errors));
      assertEquals(missingFigures(r, MEASUREMENTS), []);
      assert(seconds < 180, `took ${seconds} s`);
      // exit 0 whatever the targets say: pass/fail of a target is a figure, not an error
      assertEquals(run.code, 0, err.slice(-2000));
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
