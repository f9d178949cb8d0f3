/**
 * Each classic misconfiguration gives one clear error line naming the setting, and a
 * non-zero exit within 30 seconds.
 */
import assert from "node:assert/strict";
import { freshTopic, testConfig, testEnv } from "./_support.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const config = testConfig();

async function nexus(args: string[], env: Record<string, string>) {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { ...testEnv(), ...env, NEXUS_LOG_LEVEL: "warn" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const errorLines = stderr.split("\n").filter((l) => l.startsWith("nexus: "));
  return { code: out.code, seconds: (performance.now() - started) / 1000, stderr, errorLines };
}

function assertOneLine(
  r: Awaited<ReturnType<typeof nexus>>,
  setting: string,
  pattern: RegExp,
) {
  assert.notEqual(r.code, 0, r.stderr);
  assert.ok(r.seconds < 30, `took ${r.seconds.toFixed(1)} s`);
  assert.equal(r.errorLines.length, 1, r.stderr);
  assert.ok(r.errorLines[0]!.includes(setting), r.errorLines[0]);
  assert.match(r.errorLines[0]!, pattern);
  assert.match(r.errorLines[0]!, /Fix: /);
}

Deno.test("an unreachable broker is one line naming KAFKA_BROKERS", async () => {
  const r = await nexus(["run", "--modules", "archiver"], { KAFKA_BROKERS: "127.0.0.1:1" });
  assertOneLine(r, "KAFKA_BROKERS", /Cannot connect to Kafka/);
});

Deno.test("a broker advertising an unreachable address is one line naming the trap", async () => {
  const env = testEnv();
  const trap = env.NEXUS_STACK_KAFKA_TRAP_ADDRESS;
  if (!trap) {
    throw new Error("Cannot run: the stack did not export NEXUS_STACK_KAFKA_TRAP_ADDRESS");
  }
  const r = await nexus(["run", "--modules", "archiver"], { KAFKA_BROKERS: trap });
  assertOneLine(r, "KAFKA_BROKERS", /advertises .* which this process cannot reach/);
});

Deno.test("a consumer pointed at a missing topic is one line naming NEXUS_CLICK_TOPIC", async () => {
  const r = await nexus(["run", "--modules", "aggregator"], {
    NEXUS_CLICK_TOPIC: "no_such_topic_here",
  });
  assertOneLine(r, "NEXUS_CLICK_TOPIC", /topic "no_such_topic_here" does not exist/);
});

Deno.test("a missing bucket is one line naming the bucket setting", async () => {
  const topic = await freshTopic(config, "err_bucket", 1);
  const r = await nexus(["run", "--modules", "archiver"], {
    NEXUS_CLICK_TOPIC: topic,
    NEXUS_ARCHIVE_BUCKET: "nexus-no-such-bucket",
  });
  assertOneLine(r, "NEXUS_ARCHIVE_BUCKET", /bucket "nexus-no-such-bucket" does not exist/);
});

Deno.test("a wrong database password is one line naming DATABASE_URL, password hidden", async () => {
  const url = new URL(config.databaseUrl);
  url.password = "wrong-password-123";
  const r = await nexus(["migrate"], { DATABASE_URL: url.toString() });
  assertOneLine(r, "DATABASE_URL", /authentication failed/);
  assert.ok(!r.stderr.includes("wrong-password-123"), "the password was printed");
});

Deno.test("an unknown module name is one line naming NEXUS_MODULES", async () => {
  const r = await nexus(["run", "--modules", "generator,aggregater"], {});
  assertOneLine(r, "NEXUS_MODULES", /unknown module "aggregater"/);
});

Deno.test("a bad command flag is one usage line naming the flag, exit 2, before any service", async () => {
  const unreachable = { KAFKA_BROKERS: "127.0.0.1:1", S3_ENDPOINT: "http://127.0.0.1:1" };
  const cases: [string[], string, RegExp][] = [
    [["generate", "--late-fraction", "7"], "--late-fraction", /is "7": outside 0\.\.1/],
    [
      ["verify", "--to", "2026-01-01T00:00:00Z"],
      "--from",
      /Cannot run nexus verify: --from is missing/,
    ],
    [["load", "--bogus"], "--bogus", /Cannot run nexus load: --bogus is not a flag of load/],
    [["generate", "--rate"], "--rate", /--rate needs a value/],
  ];
  for (const [args, flag, pattern] of cases) {
    const r = await nexus(args, unreachable);
    assert.equal(r.code, 2, r.stderr);
    assertOneLine(r, flag, pattern);
  }
});
