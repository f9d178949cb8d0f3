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

Deno.test("a cluster node lists every voter and replicates 3-way with min ISR 2", () => {
  const props = kafkaProperties({
    port: 29094,
    controllerPort: 29095,
    nodeId: 2,
    voters: [{ id: 1, port: 29093 }, { id: 2, port: 29095 }, { id: 3, port: 29097 }],
    replicationFactor: 3,
    logDir: "/data/node-2",
  });
  assert.equal(props["node.id"], "2");
  assert.equal(
    props["controller.quorum.voters"],
    "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097",
  );
  assert.equal(props["default.replication.factor"], "3");
  assert.equal(props["min.insync.replicas"], "2");
  assert.equal(props["offsets.topic.replication.factor"], "3");
  assert.equal(props["transaction.state.log.replication.factor"], "3");
  assert.equal(props["transaction.state.log.min.isr"], "2");
  assert.equal(props["unclean.leader.election.enable"], "false");
});

Deno.test("SASL (SCRAM-SHA-512) and TLS listeners advertise 127.0.0.1 and map their protocols", () => {
  const props = kafkaProperties({
    port: 19092,
    logDir: "/d",
    saslPort: 19095,
    tlsPort: 19096,
    keystore: { location: "/k.p12", password: "pw" },
  });
  assert.match(props["listeners"]!, /SASL:\/\/127\.0\.0\.1:19095,TLS:\/\/127\.0\.0\.1:19096$/);
  assert.match(props["advertised.listeners"]!, /SASL:\/\/127\.0\.0\.1:19095/);
  assert.match(props["listener.security.protocol.map"]!, /SASL:SASL_PLAINTEXT,TLS:SSL$/);
  assert.equal(props["inter.broker.listener.name"], "PLAINTEXT");
  assert.equal(props["listener.name.sasl.sasl.enabled.mechanisms"], "SCRAM-SHA-512");
  assert.equal(props["listener.name.tls.ssl.keystore.location"], "/k.p12");
  assert.equal(props["min.insync.replicas"], undefined, "single node keeps broker defaults");
  assert.throws(() => kafkaProperties({ port: 1, logDir: "/d", tlsPort: 2 }), /keystore/);
});
