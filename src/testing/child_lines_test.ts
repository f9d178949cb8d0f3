import assert from "node:assert/strict";
import { forEachLine, lineMatches, LineWaiters } from "./child_lines.ts";

const streamOf = (...chunks: string[]) =>
  ReadableStream.from(chunks.map((c) => new TextEncoder().encode(c)));

Deno.test("forEachLine splits chunks into lines, keeping a last line without a newline", async () => {
  const lines: string[] = [];
  await forEachLine(streamOf("a\nb", "c\n\nd", "é\nlast"), (l) => lines.push(l));
  assert.deepEqual(lines, ["a", "bc", "", "dé", "last"]);
});

Deno.test("lineMatches takes a string as a substring and a RegExp as a pattern", () => {
  assert.equal(lineMatches("started", "aggregator started in 3 ms"), true);
  assert.equal(lineMatches("READY", "NOT_READ"), false);
  assert.equal(lineMatches(/^DONE /, "DONE 12"), true);
  assert.equal(lineMatches(/^DONE /, "NOT DONE 12"), false);
});

Deno.test("LineWaiters resolves the next matching line only, not an earlier one", async () => {
  const w = new LineWaiters({ name: "child", exited: new Promise(() => {}) });
  w.offer("READY 1");
  const waiting = w.next("READY", 1000);
  w.offer("STATUS 1");
  w.offer("READY 2");
  w.offer("READY 3");
  assert.equal(await waiting, "READY 2");
});

Deno.test("LineWaiters rejects a wait on timeout, naming the child and the marker", async () => {
  const w = new LineWaiters({ name: "nexus-1", exited: new Promise(() => {}) });
  await assert.rejects(
    w.next(/ready/, 10),
    /^Error: nexus-1: no line with \/ready\/ within 10 ms$/,
  );
  w.offer("ready"); // the timed-out wait is gone: nothing left to resolve
});

Deno.test("LineWaiters rejects a pending wait as soon as the child exits, with context", async () => {
  let exit!: () => void;
  const exited = new Promise<void>((r) => (exit = r));
  const w = new LineWaiters({ name: "child", exited, context: () => "; log: x.log" });
  const waiting = w.next("READY", 60_000);
  exit();
  await assert.rejects(waiting, /^Error: child exited before a line with READY; log: x\.log$/);
});
