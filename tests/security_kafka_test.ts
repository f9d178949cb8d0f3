/**
 * Security of the services as the local stack runs them: Kafka SASL_PLAINTEXT with
 * SCRAM-SHA-512 and an SSL listener with a self-signed CA (through Nexus's own Kafka port,
 * `createKafkaClient`, and `nexus run`), PostgreSQL password auth (never trust), and S3 access keys. A wrong
 * credential is refused with one clear error line and a non-zero exit.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import postgres from "postgres";
import type { Config } from "../src/config/mod.ts";
import { createKafkaClient, readTopic } from "../src/kafka/mod.ts";
import { freshTopic, testConfig, testEnv } from "./_support.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const env = testEnv();
const SASL = env.NEXUS_STACK_KAFKA_SASL_ADDRESS;
const TLS = env.NEXUS_STACK_KAFKA_TLS_ADDRESS;

async function nexus(args: string[], extra: Record<string, string>) {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { ...testEnv(), NEXUS_LOG_LEVEL: "warn", NEXUS_HTTP_PORT: "0", ...extra },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const errorLines = stderr.split("\n").filter((l) => l.startsWith("nexus: "));
  return { code: out.code, seconds: (performance.now() - started) / 1000, stderr, errorLines };
}

/**
 * Produces 50 records through `config` and reads them back (every partition from its start);
 * resolves to how many came back byte-identical.
 */
async function roundTrip(config: Config, topic: string): Promise<number> {
  const kafka = createKafkaClient(config, { clientSuffix: "security-test" });
  const producer = kafka.producer();
  const sent = new Map(Array.from({ length: 50 }, (_, i) => [`k${i}`, JSON.stringify({ i })]));
  try {
    await producer.send(
      topic,
      [...sent].map(([key, value]) => ({ key, value: Buffer.from(value) })),
    );
  } finally {
    await producer.close();
  }
  const dec = new TextDecoder();
  let got = 0;
  await readTopic(kafka, topic, (batch) => {
    for (const r of batch.records) {
      const key = r.key ? dec.decode(r.key) : "";
      assert.equal(r.value ? dec.decode(r.value) : null, sent.get(key), `value of ${key}`);
      got++;
    }
  }, { timeoutMs: 30_000 });
  return got;
}

function saslFlags(password: string): Record<string, string> {
  return {
    "kafka-brokers": SASL!,
    "kafka-sasl-mechanism": "scram-sha-512",
    "kafka-sasl-username": env.NEXUS_STACK_KAFKA_SASL_USERNAME!,
    "kafka-sasl-password": password,
  };
}

Deno.test({
  name:
    "kafka: the Kafka client with SCRAM-SHA-512 produces and reads back through the SASL listener",
  ignore: !SASL,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const topic = await freshTopic(testConfig(), "sec_sasl", 2);
    const config = testConfig(saslFlags(env.NEXUS_STACK_KAFKA_SASL_PASSWORD!));
    assert.equal(await roundTrip(config, topic), 50);
  },
});

Deno.test({
  name: "kafka: a wrong SASL password stops `nexus run` with one line naming the mechanism",
  ignore: !SASL,
  async fn() {
    const topic = await freshTopic(testConfig(), "sec_badpw", 1);
    const r = await nexus(["run", "--modules", "archiver"], {
      KAFKA_BROKERS: SASL!,
      KAFKA_SASL_MECHANISM: "scram-sha-512",
      KAFKA_SASL_USERNAME: env.NEXUS_STACK_KAFKA_SASL_USERNAME!,
      KAFKA_SASL_PASSWORD: "not-the-password-0123",
      NEXUS_CLICK_TOPIC: topic,
    });
    assert.notEqual(r.code, 0, r.stderr);
    assert.ok(r.seconds < 45, `took ${r.seconds.toFixed(1)} s`);
    assert.equal(r.errorLines.length, 1, r.stderr);
    assert.match(r.errorLines[0]!, /SCRAM[- ]SHA[- ]?512|KAFKA_SASL/i);
    assert.ok(!r.stderr.includes("not-the-password-0123"), "the password is never printed");
    assert.ok(!r.stderr.includes(env.NEXUS_STACK_KAFKA_SASL_PASSWORD!));
  },
});

Deno.test({
  name: "kafka: a client without SASL cannot use the SASL listener",
  ignore: !SASL,
  async fn() {
    const topic = await freshTopic(testConfig(), "sec_nosasl", 1);
    const r = await nexus(["run", "--modules", "archiver"], {
      KAFKA_BROKERS: SASL!,
      NEXUS_CLICK_TOPIC: topic,
    });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.errorLines.length, 1, r.stderr);
    assert.match(r.errorLines[0]!, /KAFKA_BROKERS/);
  },
});

Deno.test({
  name: "kafka: KAFKA_TLS with KAFKA_TLS_CA_FILE produces and reads back over TLS",
  ignore: !TLS,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const topic = await freshTopic(testConfig(), "sec_tls", 2);
    const config = testConfig({
      "kafka-brokers": TLS!,
      "kafka-tls": "true",
      "kafka-tls-ca-file": env.NEXUS_STACK_KAFKA_CA_FILE!,
    });
    assert.equal(await roundTrip(config, topic), 50);
  },
});

Deno.test({
  name: "kafka: TLS without the stack's CA is refused (self-signed certificate not trusted)",
  ignore: !TLS,
  async fn() {
    const topic = await freshTopic(testConfig(), "sec_tls_noca", 1);
    const r = await nexus(["run", "--modules", "archiver"], {
      KAFKA_BROKERS: TLS!,
      KAFKA_TLS: "true",
      NEXUS_CLICK_TOPIC: topic,
    });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.errorLines.length, 1, r.stderr);
    assert.match(r.errorLines[0]!, /KAFKA_BROKERS/);
  },
});

Deno.test("postgres: pg_hba uses scram-sha-256 everywhere (no trust line)", async () => {
  const hba = new URL("../.nexus/data/postgres/pg_hba.conf", import.meta.url);
  let text: string;
  try {
    text = await Deno.readTextFile(hba);
  } catch {
    return; // external Postgres: nothing local to inspect
  }
  const rules = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  assert.ok(rules.length > 0);
  for (const rule of rules) assert.doesNotMatch(rule, /\b(trust|password|md5)\s*$/, rule);
});

Deno.test("postgres: a connection without a password (or with a wrong one) is refused", async () => {
  const url = new URL(env.DATABASE_URL!);
  const attempt = async (password: string | undefined) => {
    const sql = postgres({
      host: url.hostname,
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      database: url.pathname.slice(1),
      ...(password === undefined ? {} : { password }),
      max: 1,
      connect_timeout: 5,
      onnotice: () => {},
    });
    try {
      await sql`select 1`;
      return "connected";
    } catch (e) {
      return String((e as Error).message);
    } finally {
      await sql.end({ timeout: 1 }).catch(() => {});
    }
  };
  const saved = Deno.env.get("PGPASSWORD");
  Deno.env.delete("PGPASSWORD");
  try {
    assert.match(await attempt(undefined), /password|authentication/i);
    assert.match(await attempt("wrong-password"), /password authentication failed/i);
  } finally {
    if (saved !== undefined) Deno.env.set("PGPASSWORD", saved);
  }
});

Deno.test("s3: wrong access keys stop `nexus run` with one line naming the S3 setting", async () => {
  const topic = await freshTopic(testConfig(), "sec_s3", 1);
  for (
    const bad of <Record<string, string>[]> [
      { S3_SECRET_ACCESS_KEY: "wrongwrongwrongwrongwrongwrong0123456789" },
      { S3_ACCESS_KEY_ID: "NXNOTAKEY0000000000", S3_SECRET_ACCESS_KEY: "x".repeat(40) },
    ]
  ) {
    const r = await nexus(["run", "--modules", "archiver"], { NEXUS_CLICK_TOPIC: topic, ...bad });
    assert.notEqual(r.code, 0, r.stderr);
    assert.equal(r.errorLines.length, 1, r.stderr);
    assert.match(r.errorLines[0]!, /S3_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)/);
    for (const v of Object.values(bad)) assert.ok(!r.stderr.includes(v), "secret printed");
    assert.ok(!r.stderr.includes(env.S3_SECRET_ACCESS_KEY!));
  }
});
