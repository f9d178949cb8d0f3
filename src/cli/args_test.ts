import assert from "node:assert/strict";
import { splitArgs } from "./args.ts";
import { UsageError } from "./options.ts";

Deno.test("setting flags are taken from anywhere and the rest goes to the command", () => {
  const s = splitArgs(["run", "--modules", "aggregator", "--kafka-brokers=h:1", "--x", "y"]);
  assert.equal(s.command, "run");
  assert.deepEqual(s.settings, { modules: "aggregator", "kafka-brokers": "h:1" });
  assert.deepEqual(s.rest, ["--x", "y"]);
});

Deno.test("a setting flag without a value is a usage error naming the flag", () => {
  assert.throws(() => splitArgs(["run", "--modules"]), (e: Error) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /--modules needs a value/);
    return true;
  });
});

Deno.test("--help is recognised before or after the command", () => {
  assert.equal(splitArgs(["--help"]).help, true);
  assert.equal(splitArgs(["generate", "-h"]).command, "generate");
});
