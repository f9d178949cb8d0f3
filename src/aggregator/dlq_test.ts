import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DLQ_HEADERS, dlqKey, dlqRecord } from "./dlq.ts";

Deno.test("a dead letter is keyed topic/partition/offset, keeps the value and names its reason", () => {
  const value = new TextEncoder().encode("{oops");
  const m = dlqRecord("clicks", 2, {
    offset: 41n,
    reason: "not_json",
    detail: "Unexpected token",
    key: new TextEncoder().encode("u7"),
    value,
    produced: false,
  });
  assertEquals(m.key, dlqKey("clicks", 2, 41n));
  assertEquals(m.key, "clicks/2/41");
  assertEquals(m.value, value);
  const h = m.headers!;
  const text = (k: string) => {
    const v = h[k]!;
    return typeof v === "string" ? v : new TextDecoder().decode(v);
  };
  assertEquals(text(DLQ_HEADERS.reason), "not_json");
  assertEquals(text(DLQ_HEADERS.detail), "Unexpected token");
  assertEquals(text(DLQ_HEADERS.topic), "clicks");
  assertEquals(text(DLQ_HEADERS.partition), "2");
  assertEquals(text(DLQ_HEADERS.offset), "41");
  assertEquals(text(DLQ_HEADERS.key), "u7");
});

Deno.test("a tombstone dead letter stays a tombstone and has no original-key header without a key", () => {
  const m = dlqRecord("clicks", 0, {
    offset: 3n,
    reason: "not_json",
    detail: "empty value",
    key: null,
    value: null,
    produced: false,
  });
  assertEquals(m.value, null);
  assertEquals(DLQ_HEADERS.key in m.headers!, false);
});
