/**
 * `deno task test`: the whole test suite on a fresh machine. Uses the services named by
 * KAFKA_BROKERS, DATABASE_URL and S3_ENDPOINT when all are set; otherwise brings the local
 * stack up (installing what is missing), runs `deno test`, and stops the stack again if it
 * was not running before. Ends with one summary line: `tests: N passed, N failed`.
 *
 * Arguments are passed to `deno test` (e.g. a file or `--filter`).
 *
 * @module
 */
import { ensureStack, stackDown, stackStatus } from "../stack/mod.ts";

// deno-lint-ignore no-control-regex -- deno test colours its summary line with ANSI escapes
const ANSI = /\x1b\[[0-9;]*m/g;
const env = Deno.env.toObject();
const external = Boolean(env.KAFKA_BROKERS && env.DATABASE_URL && env.S3_ENDPOINT);
const wasRunning = external || (await stackStatus()).every((s) => s.running);

const started = performance.now();
const stackEnv = await ensureStack();
console.error(
  `test services: ${external ? "external (from the environment)" : "local stack"} ready in ${
    ((performance.now() - started) / 1000).toFixed(1)
  } s`,
);

const child = new Deno.Command(Deno.execPath(), {
  args: ["test", "--allow-all", ...Deno.args],
  env: { ...stackEnv, ...env, ...(external ? {} : { NEXUS_TEST_LOCAL_STACK: "1" }) },
  stdout: "piped",
  stderr: "inherit",
  stdin: "null",
}).spawn();

let summary = "";
const decoder = new TextDecoder();
let pending = "";
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  pending += decoder.decode(chunk, { stream: true });
  const lines = pending.split("\n");
  pending = lines.pop() ?? "";
  for (const line of lines) {
    const plain = line.replace(ANSI, "");
    if (/^(ok|FAILED) \| \d+ passed/.test(plain)) summary = plain;
  }
}
const { code } = await child.status;

if (!wasRunning && !env.NEXUS_KEEP_STACK) {
  console.error("stopping the local stack this run started (NEXUS_KEEP_STACK=1 keeps it)");
  await stackDown();
}

const m = /(\d+) passed.*?\| (\d+) failed(?:.*?\| (\d+) ignored)?/.exec(summary);
if (m) {
  console.log(`tests: ${m[1]} passed, ${m[2]} failed${m[3] ? `, ${m[3]} skipped` : ""}`);
} else {
  console.log(`tests: 0 passed, 1 failed (deno test printed no summary; exit code ${code})`);
}
Deno.exit(code === 0 && m ? 0 : 1);
