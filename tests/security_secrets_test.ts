/**
 * No secret ever reaches the output: `nexus run --modules generator,aggregator,archiver` at
 * debug level for ~15 s (Kafka through the SASL listener when the stack has one), then
 * `nexus status`, `nexus --help`, `nexus run --help` and `stack status`/`stack --help`; all
 * stdout and stderr are searched for the Postgres password, the S3 access key and secret key
 * and the SASL password. Also: the HTTP endpoints refuse to bind beyond loopback unless
 * NEXUS_HTTP_ALLOW_PUBLIC=true (one line, non-zero exit).
 */
import assert from "node:assert/strict";
import { freshDatabase, freshTopic, testConfig, testEnv, uniqueName } from "./_support.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const STACK_CLI = new URL("../stack/cli.ts", import.meta.url).pathname;
const dec = new TextDecoder();

function secretsOf(env: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  const pg = new URL(env.DATABASE_URL!).password;
  if (pg) out["Postgres password"] = decodeURIComponent(pg);
  if (env.PGPASSWORD) out["PGPASSWORD"] = env.PGPASSWORD;
  if (env.S3_ACCESS_KEY_ID) out["S3 access key"] = env.S3_ACCESS_KEY_ID;
  if (env.S3_SECRET_ACCESS_KEY) out["S3 secret key"] = env.S3_SECRET_ACCESS_KEY;
  if (env.NEXUS_STACK_KAFKA_SASL_PASSWORD) {
    out["SASL password"] = env.NEXUS_STACK_KAFKA_SASL_PASSWORD;
  }
  for (const [k, v] of Object.entries(out)) assert.ok(v.length >= 8, `${k} is too short to scan`);
  return out;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function leaks(output: string, secrets: Record<string, string>): string[] {
  return Object.entries(secrets).filter(([, v]) => output.includes(v)).map(([k]) => k);
}

async function capture(args: string[], env: Record<string, string>, timeoutMs = 60_000) {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr) };
}

Deno.test({
  name: "secrets: run (debug logs), status, --help and stack status never print a secret",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const base = testEnv();
    const secrets = secretsOf(base);
    const db = await freshDatabase("sec_scan");
    try {
      const topic = await freshTopic(testConfig(), "sec_scan", 2);
      const env: Record<string, string> = {
        ...base,
        DATABASE_URL: db.config.databaseUrl,
        NEXUS_CLICK_TOPIC: topic,
        NEXUS_AGGREGATOR_GROUP: uniqueName("sec_scan_agg"),
        NEXUS_ARCHIVER_GROUP: uniqueName("sec_scan_arch"),
        NEXUS_LOG_LEVEL: "debug",
        NEXUS_HTTP_PORT: "0",
        NEXUS_GENERATOR_RATE: "500",
        NEXUS_FLUSH_INTERVAL_MS: "300",
        NEXUS_ARCHIVE_MAX_AGE_MS: "1000",
      };
      if (base.NEXUS_STACK_KAFKA_SASL_ADDRESS) {
        // Kafka through SCRAM-SHA-512, so the SASL password is in play too.
        Object.assign(env, {
          KAFKA_BROKERS: base.NEXUS_STACK_KAFKA_SASL_ADDRESS,
          KAFKA_SASL_MECHANISM: "scram-sha-512",
          KAFKA_SASL_USERNAME: base.NEXUS_STACK_KAFKA_SASL_USERNAME!,
          KAFKA_SASL_PASSWORD: base.NEXUS_STACK_KAFKA_SASL_PASSWORD!,
        });
      }
      const proc = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", MAIN, "run", "--modules", "generator,aggregator,archiver"],
        env,
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const chunks: string[] = [];
      const pump = (s: ReadableStream<Uint8Array>) =>
        (async () => {
          for await (const c of s.pipeThrough(new TextDecoderStream())) chunks.push(c);
        })();
      const pumps = Promise.all([pump(proc.stdout), pump(proc.stderr)]);
      await new Promise((r) => setTimeout(r, 15_000));
      const status = await capture(["run", "-A", MAIN, "status"], env);
      proc.kill("SIGTERM");
      const st = await proc.status;
      await pumps;
      const runOutput = chunks.join("");
      assert.equal(st.code, 0, runOutput.slice(-2000));
      assert.match(runOutput, /DEBUG/, "debug logging was on");
      assert.match(runOutput, /module started/);
      assert.equal(status.code, 0, status.text);
      const outputs: Record<string, string> = {
        "nexus run (debug)": runOutput,
        "nexus status": status.text,
        "nexus --help": (await capture(["run", "-A", MAIN, "--help"], env)).text,
        "nexus run --help": (await capture(["run", "-A", MAIN, "run", "--help"], env)).text,
        "stack status": (await capture(["run", "-A", STACK_CLI, "status"], env)).text,
        "stack --help": (await capture(["run", "-A", STACK_CLI, "--help"], env)).text,
      };
      for (const [what, text] of Object.entries(outputs)) {
        assert.ok(text.length > 0, `${what} printed something`);
        assert.deepEqual(leaks(text, secrets), [], `${what} leaks a secret`);
      }
      console.error(
        `[sec_scan] scanned ${
          Object.values(outputs).reduce((n, t) => n + t.length, 0)
        } characters of output for ${Object.keys(secrets).join(", ")}: none found`,
      );
    } finally {
      await db.drop();
    }
  },
});

Deno.test("http: NEXUS_HTTP_HOST=0.0.0.0 without NEXUS_HTTP_ALLOW_PUBLIC=true exits with one line", async () => {
  const topic = await freshTopic(testConfig(), "sec_http", 1);
  const r = await capture(["run", "-A", MAIN, "run", "--modules", "archiver"], {
    ...testEnv(),
    NEXUS_CLICK_TOPIC: topic,
    NEXUS_HTTP_HOST: "0.0.0.0",
    NEXUS_HTTP_PORT: String(freePort()), // 0 would disable HTTP (and the check)
    NEXUS_LOG_LEVEL: "warn",
  }, 45_000);
  assert.notEqual(r.code, 0, r.text);
  const lines = r.text.split("\n").filter((l) => l.startsWith("nexus: "));
  assert.equal(lines.length, 1, r.text);
  assert.match(lines[0]!, /NEXUS_HTTP_HOST/);
  assert.match(lines[0]!, /NEXUS_HTTP_ALLOW_PUBLIC/);
});
