import assert from "node:assert/strict";
import { LedgerError, recover } from "./ledger.ts";
import { ledgerKey } from "./key.ts";
import { MemoryStore } from "../../tests/fixtures/memory_store.ts";

const enc = new TextEncoder();

Deno.test("an empty ledger recovers to the first offset Kafka holds", async () => {
  assert.deepEqual(await recover(new MemoryStore(), "raw", "t", 0, 42n), { next: 42n, walked: 0 });
});

Deno.test("a ledger object that is not JSON, or lacks a field, is a LedgerError", async () => {
  for (const body of ["{not json", "{}", '{"start":"5","end":"3","key":"k"}', "[1]"]) {
    const store = new MemoryStore();
    await store.put(ledgerKey("raw", "t", 0, 5n), enc.encode(body));
    await assert.rejects(recover(store, "raw", "t", 0), LedgerError, body);
  }
});

Deno.test("a recorded range whose object is missing is rewritten from its start", async () => {
  const store = new MemoryStore();
  const entry = { start: "0", end: "9", key: "raw/x/obj-0-9", records: 10, bytes: 1 };
  await store.put(ledgerKey("raw", "t", 0, 0n), enc.encode(JSON.stringify(entry)));
  const r = await recover(store, "raw", "t", 0);
  assert.equal(r.next, 0n);
  assert.equal(r.pending?.end, "9");
  await store.put(entry.key, enc.encode("data"));
  assert.equal((await recover(store, "raw", "t", 0)).next, 10n);
});
