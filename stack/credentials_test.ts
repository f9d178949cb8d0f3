import assert from "node:assert/strict";
import { join } from "node:path";
import {
  generateCredentials,
  loadOrCreateCredentials,
  parseCredentials,
  randomString,
} from "./credentials.ts";

Deno.test("generated credentials are random, URL-safe and of fixed shape", () => {
  const a = generateCredentials();
  const b = generateCredentials();
  assert.notEqual(a.postgresPassword, b.postgresPassword);
  assert.match(a.postgresPassword, /^[A-Za-z0-9]{32}$/);
  assert.match(a.s3AccessKeyId, /^NX[A-Z2-7]{18}$/);
  assert.match(a.s3SecretAccessKey, /^[A-Za-z0-9]{40}$/);
  assert.equal(randomString("ab", 10, (x) => x.fill(1)), "bbbbbbbbbb");
});

Deno.test("credentials are created once with mode 0600 and reused afterwards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "stack", "credentials.json");
    const first = await loadOrCreateCredentials(file);
    const again = await loadOrCreateCredentials(file);
    assert.deepEqual(again, first);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a damaged credentials file fails with the file and the fix", () => {
  assert.throws(
    () => parseCredentials("{", "/x/c.json"),
    /current value is not JSON; fix: delete \/x\/c.json/,
  );
  assert.throws(
    () => parseCredentials('{"postgresPassword":"short"}', "/x/c.json"),
    /postgresPassword/,
  );
});

Deno.test("an older credentials file gains the Kafka SASL and keystore passwords, keeping the rest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "credentials.json");
    const old = {
      postgresPassword: "A".repeat(32),
      s3AccessKeyId: "NX" + "B".repeat(18),
      s3SecretAccessKey: "C".repeat(40),
    };
    await Deno.writeTextFile(file, JSON.stringify(old));
    const got = await loadOrCreateCredentials(file);
    assert.equal(got.postgresPassword, old.postgresPassword);
    assert.equal(got.s3SecretAccessKey, old.s3SecretAccessKey);
    assert.match(got.kafkaSaslPassword!, /^[A-Za-z0-9]{32}$/);
    assert.match(got.kafkaKeystorePassword!, /^[A-Za-z0-9]{24}$/);
    assert.deepEqual(await loadOrCreateCredentials(file), got);
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
