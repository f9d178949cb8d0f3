import assert from "node:assert/strict";
import { createLogger } from "./logger.ts";

function capture(format: "text" | "json") {
  const lines: string[] = [];
  return { lines, log: createLogger("t", { format, write: (l) => lines.push(l) }) };
}

Deno.test("a text line leaves out undefined fields and prints bigints as integers", () => {
  const { lines, log } = capture("text");
  log.info("recovered", { next: 12n, pending: undefined, note: "a b" });
  assert.equal(lines.length, 1);
  assert.ok(lines[0]!.endsWith(' INFO  [t] recovered next=12 note="a b"'), lines[0]);
  assert.ok(!lines[0]!.includes("undefined"));
});

Deno.test("a JSON line leaves out undefined fields and carries bigints as strings", () => {
  const { lines, log } = capture("json");
  log.warn("x", { offset: 9007199254740993n, gone: undefined, nested: { o: 1n } });
  const o = JSON.parse(lines[0]!);
  assert.equal(o.offset, "9007199254740993");
  assert.equal("gone" in o, false);
  assert.deepEqual(o.nested, { o: "1" });
});

Deno.test("messages below the level are not written", () => {
  const lines: string[] = [];
  const log = createLogger("t", { level: "warn", write: (l) => lines.push(l) });
  log.info("quiet");
  log.error("loud", { e: new Error("boom") });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /loud e="boom"/);
});
