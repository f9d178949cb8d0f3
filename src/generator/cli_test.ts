import assert from "node:assert/strict";
import { UsageError } from "../cli/options.ts";
import { parseGenerateArgs } from "./cli.ts";
import { DEFAULT_SEND_BATCH } from "./params.ts";

Deno.test("generate flags parse into params", () => {
  const o = parseGenerateArgs([
    "--seed=7",
    "--events",
    "1000",
    "--late-fraction",
    "0.1",
    "--users",
    "50",
    "--no-csv",
    "--dry-run",
    "--manifest",
    "/tmp/m.json",
  ]);
  assert.equal(o.params.seed, 7);
  assert.equal(o.params.events, 1000);
  assert.equal(o.params.lateFraction, 0.1);
  assert.equal(o.params.users, 50);
  assert.equal(o.orders, 150);
  assert.equal(o.csv, false);
  assert.equal(o.stream, true);
  assert.equal(o.dryRun, true);
  assert.equal(o.manifest, "/tmp/m.json");
});

Deno.test("--duration converts simulated seconds to events", () => {
  const o = parseGenerateArgs(["--duration", "60", "--events-per-second", "200"]);
  assert.equal(o.params.events, 12000);
});

Deno.test("bad flags fail with one line naming the flag", () => {
  const cases: [string[], RegExp][] = [
    [["--late-fraction", "2"], /--late-fraction/],
    [["--events", "abc"], /--events/],
    [["--bogus"], /bogus/],
    [["--events", "1", "--duration", "2"], /--duration/],
    [["--csv-only", "--no-csv"], /--no-csv/],
    [["--start", "yesterday"], /start/],
    [["--rate", "50"], /--rate/], // a setting, not a generate flag: main.ts hands it to the config
    [["--partitions", "2"], /--partitions/], // likewise (NEXUS_PARTITIONS)
  ];
  for (const [args, re] of cases) {
    assert.throws(() => parseGenerateArgs(args), (e: Error) => {
      assert.ok(e instanceof UsageError, e.message);
      assert.match(e.message, re);
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  }
});

Deno.test("the --rate setting is the send cap and, with --live, the event-time density", () => {
  assert.equal(parseGenerateArgs(["--events", "10"]).rate, undefined);
  assert.equal(parseGenerateArgs(["--events", "10"], { rate: 50 }).rate, 50);
  const live = parseGenerateArgs(["--live", "--events", "10"], { rate: 50 });
  assert.equal(live.rate, 50);
  assert.equal(live.params.eventsPerSecond, 50);
});

Deno.test("defaults come from the option table and the generator's parameter defaults", () => {
  const o = parseGenerateArgs([]);
  assert.equal(o.batchSize, DEFAULT_SEND_BATCH);
  assert.equal(o.params.events, 10_000);
  assert.equal(o.orders, o.params.users * 3);
  assert.equal(o.csv && o.stream && !o.dryRun && !o.live, true);
});
