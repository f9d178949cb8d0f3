import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { DLQ_HEADERS, dlqKey, dlqMessage } from "./dlq.ts";

Deno.test("DLQ message: key topic/partition/offset, original value, headers naming the reason", () => {
  const value = new TextEncoder().encode("{oops");
  const m = dlqMessage("clicks", 2, {
    offset: 41,
    reason: "not_json",
    detail: "Unexpected token",
    key: new TextEncoder().encode("u7"),
    value,
    produced: false,
  });
  assertEquals(m.key, dlqKey("clicks", 2, 41));
  assertEquals(m.key, "clicks/2/41");
  assertEquals(new Uint8Array(m.value as Uint8Array), value);
  const h = m.headers as Record<string, Uint8Array>;
  const text = (k: string) => new TextDecoder().decode(h[k]);
  assertEquals(text(DLQ_HEADERS.reason), "not_json");
  assertEquals(text(DLQ_HEADERS.detail), "Unexpected token");
  assertEquals(text(DLQ_HEADERS.topic), "clicks");
  assertEquals(text(DLQ_HEADERS.partition), "2");
  assertEquals(text(DLQ_HEADERS.offset), "41");
  assertEquals(text(DLQ_HEADERS.key), "u7");
});
