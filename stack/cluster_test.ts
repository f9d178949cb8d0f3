import assert from "node:assert/strict";
import { clusterBrokers, clusterRequested, parseNodeName } from "./cluster.ts";

Deno.test("cluster node names and the NEXUS_STACK_KAFKA_BROKERS switch", () => {
  assert.equal(parseNodeName("kafka-2"), 2);
  assert.equal(parseNodeName("kafka"), undefined);
  assert.equal(parseNodeName("kafka-4"), undefined);
  assert.equal(clusterRequested({}), false);
  assert.equal(clusterRequested({ NEXUS_STACK_KAFKA_BROKERS: "1" }), false);
  assert.equal(clusterRequested({ NEXUS_STACK_KAFKA_BROKERS: "3" }), true);
  assert.throws(() => clusterRequested({ NEXUS_STACK_KAFKA_BROKERS: "2" }), /set it to 1/);
  assert.equal(clusterBrokers({}), "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096");
});
