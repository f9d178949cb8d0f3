import assert from "node:assert/strict";
import { settings } from "../config/settings.ts";
import type { ModuleContext } from "../runtime/module.ts";
import {
  type CommandSpec,
  day,
  defineCommand,
  fraction,
  integer,
  isoTime,
  parseOptions,
  text,
  UsageError,
  usageLine,
  usageText,
} from "./options.ts";

const spec = {
  name: "demo",
  summary: "A demo command",
  about: "Does nothing.",
  options: {
    count: { arg: "N", type: integer(1), doc: "how many", default: "5" },
    share: { arg: "F", type: fraction, doc: "a share", fallback: "NEXUS_DEMO" },
    from: { arg: "ISO", type: isoTime, doc: "start", required: true },
    day: { arg: "DAY", type: day, doc: "a day" },
    name: { arg: "NAME", type: text, doc: "a name" },
    quiet: { switch: true, doc: "say less" },
  },
  settings: ["clickTopic"],
} satisfies CommandSpec;

function usageError(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UsageError, String(e));
    assert.ok(!e.message.includes("\n"), e.message);
    return e;
  }
  throw new Error("no usage error");
}

Deno.test("values are typed and parsed, defaults applied like given values", () => {
  const v = parseOptions(spec, ["--from", "2026-01-01T00:00:00Z", "--share=0.5", "--quiet"]);
  assert.equal(v.count, 5);
  assert.equal(v.share, 0.5);
  assert.equal(v.from.toISOString(), "2026-01-01T00:00:00.000Z");
  assert.equal(v.day, undefined);
  assert.equal(v.quiet, true);
  const w = parseOptions(spec, ["--from", "2026-01-01", "--count", "7", "--day", "2026-02-03"]);
  assert.equal(w.count, 7);
  assert.equal(w.day, "2026-02-03");
  assert.equal(w.quiet, false);
});

Deno.test("every kind of bad command line is one usage error naming the flag", () => {
  const from = ["--from", "2026-01-01"];
  const cases: [string[], RegExp, RegExp][] = [
    [[...from, "--count", "0"], /^--count is "0": below 1$/, /give --count an integer >= 1/],
    [[...from, "--count", "x"], /--count is "x": not an integer/, /integer/],
    [[...from, "--share", "2"], /--share is "2": outside 0\.\.1/, /a number 0\.\.1/],
    [[...from, "--day", "2026-1-1"], /--day is "2026-1-1"/, /YYYY-MM-DD/],
    [["--from", "yesterday"], /--from is "yesterday": not an ISO time/, /ISO time/],
    [[], /--from is missing/, /give --from an ISO time/],
    [[...from, "--bogus"], /--bogus is not a flag of demo/, /flags listed/],
    [[...from, "--name"], /--name needs a value/, /--name VALUE/],
    [[...from, "--name", "--quiet"], /--name needs a value/, /--name VALUE/],
    [[...from, "--quiet=yes"], /--quiet takes no value/, /--quiet alone/],
    [[...from, "extra"], /unexpected argument "extra"/, /--flag VALUE/],
  ];
  for (const [args, message, fix] of cases) {
    const e = usageError(() => parseOptions(spec, args));
    assert.match(e.message, message, args.join(" "));
    assert.match(e.fix, fix, args.join(" "));
  }
});

Deno.test("a usage error prints as one line: what, value, fix, where the flags are", () => {
  const e = new UsageError('--count is "0": below 1', "give --count an integer >= 1");
  assert.equal(
    usageLine(e, "demo"),
    'Cannot run nexus demo: --count is "0": below 1. Fix: give --count an integer >= 1 (see nexus demo --help).',
  );
  assert.match(
    usageLine(new UsageError("x", "y")),
    /^Cannot parse arguments: x\. Fix: y \(see nexus --help\)\.$/,
  );
});

Deno.test("the usage text is rendered from the table: each flag once, with its default", () => {
  const text = usageText(spec);
  assert.match(text, /^nexus demo \[flags\] \[settings\]\n\nDoes nothing\./);
  for (const name of Object.keys(spec.options)) {
    assert.equal(text.split(`--${name} `).length - 1, 1, `--${name} once`);
  }
  assert.match(text, /--count N +how many \[default: 5\]/);
  assert.match(text, /--share F +a share \[default: NEXUS_DEMO\]/);
  assert.match(text, /--from ISO +start \[required\]/);
  assert.match(text, /--quiet +say less/);
  assert.ok(text.includes(`--click-topic`) && text.includes(settings.clickTopic.env));
  assert.ok(text.includes(settings.clickTopic.doc));
});

Deno.test("a command from a spec: parses, runs, and a usage error is one line and exit 2", async () => {
  const seen: unknown[] = [];
  const cmd = defineCommand(spec, (v) => {
    seen.push(v.count);
    if (v.quiet) throw new UsageError("--quiet is not wanted here", "drop --quiet");
    return Promise.resolve(0);
  });
  assert.equal(cmd.name, "demo");
  assert.equal(cmd.spec, spec);
  const ctx = {} as ModuleContext;
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => errors.push(a.join(" "));
  try {
    assert.equal(await cmd.run(["--from", "2026-01-01"], ctx), 0);
    assert.equal(await cmd.run(["--from", "2026-01-01", "--count=-1"], ctx), 2);
    assert.equal(await cmd.run(["--from", "2026-01-01", "--quiet"], ctx), 2);
  } finally {
    console.error = orig;
  }
  assert.deepEqual(seen, [5, 5]);
  assert.equal(errors.length, 2);
  assert.match(errors[0]!, /^nexus: Cannot run nexus demo: --count is "-1": .*Fix: give --count/);
  assert.match(
    errors[1]!,
    /^nexus: Cannot run nexus demo: --quiet is not wanted here\. Fix: drop --quiet/,
  );
});
