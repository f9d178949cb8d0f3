import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { BENCH_CLIENTS, messageOffsets, parseClientName } from "./kafka.ts";

Deno.test("messageOffsets: consecutive offsets per partition from each base offset", () => {
  const recs = [{ partition: 0 }, { partition: 1 }, { partition: 0 }, {}, { partition: 2 }];
  const acks = [
    { partition: 0, baseOffset: 10n, count: 2 },
    { partition: 1, baseOffset: 5n, count: 1 },
  ];
  assertEquals(messageOffsets(recs, acks), [10n, 5n, 11n, undefined, undefined]);
  // an acknowledgement covers only its count
  assertEquals(
    messageOffsets(
      [{ partition: 0 }, { partition: 0 }],
      [acks[0]!].map((a) => ({
        ...a,
        count: 1,
      })),
    ),
    [10n, undefined],
  );
});

Deno.test("parseClientName accepts the port's adapters only", () => {
  assertEquals(BENCH_CLIENTS, ["platformatic", "kafkajs"]);
  assertEquals(parseClientName("kafkajs"), "kafkajs");
  throws(
    () => parseClientName("librdkafka"),
    /--client is "librdkafka": expected platformatic or kafkajs/,
  );
});
