import assert from "node:assert/strict";
import { kafkaProperties, newClusterId, renderProperties } from "./kafka_config.ts";

Deno.test("the Kafka config is a single KRaft node on 127.0.0.1 that never auto-creates topics", () => {
  const props = kafkaProperties({ port: 19092, logDir: "/data/kafka" });
  assert.equal(props["process.roles"], "broker,controller");
  assert.equal(props["controller.quorum.voters"], "1@127.0.0.1:19093");
  assert.equal(props["listeners"], "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093");
  assert.equal(props["advertised.listeners"], "PLAINTEXT://127.0.0.1:19092");
  assert.equal(props["auto.create.topics.enable"], "false");
  assert.equal(props["num.partitions"], "6");
  assert.equal(props["offsets.topic.replication.factor"], "1");
  assert.equal(props["transaction.state.log.min.isr"], "1");
  assert.equal(props["group.initial.rebalance.delay.ms"], "0");
  assert.equal(props["log.dirs"], "/data/kafka");
});

Deno.test("properties render one key=value per line with backslashes escaped", () => {
  const text = renderProperties({ "a.b": "x", "log.dirs": "C:\\data" }, "header");
  assert.equal(text, "# header\na.b=x\nlog.dirs=C:\\\\data\n");
});

Deno.test("a cluster id is 22 base64url characters encoding 16 bytes", () => {
  for (let i = 0; i < 50; i++) {
    const id = newClusterId();
    assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{20}[AQgw]$/);
  }
  const zeros: (b: Uint8Array) => Uint8Array = (b) => b.fill(1);
  assert.equal(newClusterId(zeros).length, 22);
});
