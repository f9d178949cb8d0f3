import assert from "node:assert/strict";
import { StackError } from "./errors.ts";
import {
  ephemeralPortRange,
  ephemeralPortWarning,
  parsePort,
  portOwners,
  resolveStackPorts,
} from "./ports.ts";

Deno.test("unset port variables give the documented defaults", () => {
  const ports = resolveStackPorts({});
  assert.equal(ports.kafka, 19092);
  assert.equal(ports.kafkaController, 19093);
  assert.equal(ports.kafkaMisadvertised, 19094);
  assert.equal(ports.postgres, 15432);
  assert.equal(ports.s3, 18333);
  assert.equal(ports.seaweed.master, 18334);
  assert.equal(ports.seaweed.admin, 18341);
  assert.equal(ports.seaweed.adminGrpc, 28341);
});

Deno.test("a port variable set to a number moves that service and its derived ports", () => {
  const ports = resolveStackPorts({
    NEXUS_STACK_KAFKA_PORT: " 29092 ",
    NEXUS_STACK_S3_PORT: "28333",
  });
  assert.equal(ports.kafka, 29092);
  assert.equal(ports.kafkaController, 29093);
  assert.equal(ports.seaweed.filer, 28336);
});

Deno.test("an invalid port fails with one line naming the variable, the value and the fix", () => {
  for (const bad of ["abc", "80", "65536", "1e4", "-1", "19092.5"]) {
    assert.throws(
      () => resolveStackPorts({ NEXUS_STACK_PG_PORT: bad }),
      (e: unknown) => {
        assert.ok(e instanceof StackError);
        assert.match(e.message, /^Cannot use NEXUS_STACK_PG_PORT: current value is ".*"; fix: /);
        assert.ok(!e.message.includes("\n"));
        return true;
      },
    );
  }
});

Deno.test("the Kafka port leaves room for the controller on port+1", () => {
  assert.throws(() => parsePort("K", "65535", 1, 65534, "controller"), /from 1024 to 65534/);
});

Deno.test("two services whose ports overlap are refused before anything starts", () => {
  assert.throws(
    () => resolveStackPorts({ NEXUS_STACK_PG_PORT: "19093" }),
    /NEXUS_STACK_PG_PORT: current value is "19093", whose PostgreSQL port 19093 is also the Kafka controller port/,
  );
  assert.throws(
    () => resolveStackPorts({ NEXUS_STACK_S3_PORT: "19085" }),
    /NEXUS_STACK_(S3|KAFKA)_PORT/,
  );
});

Deno.test("the SASL and TLS listeners sit at Kafka port +3 and +4; the cluster at 29092..29097", async () => {
  const { resolveClusterPorts } = await import("./ports.ts");
  const ports = resolveStackPorts({});
  assert.equal(ports.kafkaSasl, 19095);
  assert.equal(ports.kafkaTls, 19096);
  assert.deepEqual(resolveClusterPorts({}), [
    { id: 1, client: 29092, controller: 29093 },
    { id: 2, client: 29094, controller: 29095 },
    { id: 3, client: 29096, controller: 29097 },
  ]);
  assert.equal(resolveClusterPorts({ NEXUS_STACK_CLUSTER_PORT: "39092" })[2]!.client, 39096);
  assert.throws(
    () => resolveClusterPorts({ NEXUS_STACK_CLUSTER_PORT: "x" }),
    /NEXUS_STACK_CLUSTER_PORT/,
  );
});

Deno.test("ports inside the kernel's ephemeral range are named with their variable and the fix", () => {
  const range = ephemeralPortRange(() => "32768\t60999\n");
  assert.deepEqual(range, [32768, 60999]);
  assert.equal(ephemeralPortRange(() => "garbage"), undefined);
  assert.deepEqual(
    ephemeralPortWarning(portOwners(resolveStackPorts({})), range),
    undefined,
    "the defaults stay below the range",
  );
  const w = ephemeralPortWarning(
    portOwners(
      resolveStackPorts({ NEXUS_STACK_KAFKA_PORT: "39492", NEXUS_STACK_PG_PORT: "25432" }),
    ),
    range,
  );
  assert.deepEqual(
    w?.startsWith(
      "NEXUS_STACK_KAFKA_PORT (ports 39492–39496) inside the kernel's ephemeral port range 32768–60999",
    ),
    true,
    w,
  );
  assert.deepEqual(w?.includes("NEXUS_STACK_PG_PORT"), false);
  assert.deepEqual(w?.includes("fix: pick ports below 32768"), true);
});
