import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { KafkajsTransport, messageOffsets, type OutMessage } from "./transport.ts";

Deno.test("messageOffsets: consecutive offsets per partition from each base offset", () => {
  const msgs = [{ partition: 0 }, { partition: 1 }, { partition: 0 }, {}, { partition: 2 }];
  const landed = [{ partition: 0, baseOffset: 10n }, { partition: 1, baseOffset: 5n }];
  assertEquals(messageOffsets(msgs, landed), [10n, 5n, 11n, undefined, undefined]);
});

Deno.test({
  name: "KafkajsTransport: produced batch comes back with the offsets it reported",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const { freshTopic, testConfig, uniqueName } = await import("../../tests/_support.ts");
    const config = testConfig();
    const topic = await freshTopic(config, "transport", 2);
    const t = new KafkajsTransport(config);
    try {
      const msgs: OutMessage[] = Array.from({ length: 50 }, (_, i) => ({
        key: `k${i}`,
        value: Buffer.from(`v${i}`),
        partition: i % 2,
      }));
      const offsets = messageOffsets(msgs, await t.produceBatch(topic, msgs));
      assertEquals(offsets.slice(0, 4), [0n, 0n, 1n, 1n]);
      const got = new Map<string, string>();
      const c = await t.consume(topic, {
        groupId: uniqueName("transport"),
        onBatch: (b) => {
          for (const r of b.records) got.set(`${b.partition}:${r.offset}`, r.value!.toString());
        },
      });
      const until = Date.now() + 30_000;
      while (got.size < 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      await c.stop();
      msgs.forEach((m, i) => assertEquals(got.get(`${m.partition}:${offsets[i]}`), `v${i}`));
    } finally {
      await t.close();
    }
  },
});
