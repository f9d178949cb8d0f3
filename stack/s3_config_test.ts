import assert from "node:assert/strict";
import { seaweedPorts } from "./ports.ts";
import { renderS3Identities, weedMiniArgs } from "./s3_config.ts";

Deno.test("the S3 identities file grants one access key full rights", () => {
  const json = JSON.parse(renderS3Identities({
    postgresPassword: "p",
    s3AccessKeyId: "NXKEY",
    s3SecretAccessKey: "SECRET",
  }));
  assert.deepEqual(json.identities[0].credentials, [{ accessKey: "NXKEY", secretKey: "SECRET" }]);
  assert.deepEqual(json.identities[0].actions, ["Admin", "Read", "Write", "List", "Tagging"]);
  assert.equal(json.identities.length, 1);
});

Deno.test("weed mini binds 127.0.0.1 only, on ports derived from the S3 port", () => {
  const args = weedMiniArgs({
    dataDir: "/d",
    s3ConfigFile: "/c.json",
    socketDir: "/run",
    s3Port: 18333,
    ports: seaweedPorts(18333),
  });
  assert.equal(args[0], "-logtostderr=true");
  assert.equal(args[1], "mini");
  for (
    const flag of [
      "-ip.bind=127.0.0.1",
      "-s3.port=18333",
      "-master.port=18334",
      "-s3.config=/c.json",
      "-s3.autoCreateBucket=false",
      "-webdav=false",
      "-master.telemetry=false",
      "-admin.port=18341",
    ]
  ) {
    assert.ok(args.includes(flag), flag);
  }
  assert.ok(!args.some((a) => a.startsWith("-admin.port.grpc")));
});
