/**
 * PostgreSQL restarted again and again under concurrent transactions (each with a savepoint,
 * like the aggregator's flush): the process survives every restart, every failure it sees is
 * one callers retry (transient), and transactions commit again after each restart.
 *
 * Guards `src/postgres/transaction.ts`: with postgres.js's `sql.begin` directly, a connection
 * that dies inside a transaction can end the process with an uncaught `TypeError: Cannot read
 * properties of null (reading 'write')` (porsager/postgres#1154, #1208) — seen in CI as two
 * Nexus processes exiting at once during a PostgreSQL restart. Local stack only (it restarts a
 * shared service). Restarts: NEXUS_TEST_PG_RESTARTS (default 4).
 */
import assert from "node:assert/strict";
import { restartService } from "../stack/mod.ts";
import { freshDatabase, serviceRestartsAllowed } from "./_support.ts";
import { forEachLine } from "./fixtures/child_lines.ts";

const RESTARTS = Number(Deno.env.get("NEXUS_TEST_PG_RESTARTS") ?? 4);
const CHILD = new URL("./fixtures/pg_restart_child.ts", import.meta.url).pathname;

Deno.test({
  name:
    `postgres: ${RESTARTS} restarts under concurrent transactions; the process survives, retries, commits`,
  ignore: !serviceRestartsAllowed(),
  async fn() {
    const db = await freshDatabase("pg_restart");
    const proc = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CHILD],
      env: { ...Deno.env.toObject(), DATABASE_URL: db.config.databaseUrl },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const lines: string[] = [];
    let commits = 0;
    let exited = false;
    const out = forEachLine(proc.stdout, (l) => {
      lines.push(l);
      const m = /^COMMITS (\d+)/.exec(l);
      if (m) commits = Number(m[1]);
    });
    const err: string[] = [];
    const errDone = forEachLine(proc.stderr, (l) => err.push(l));
    const status = proc.status.then((s) => (exited = true, s));
    const until = async (what: string, ok: () => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (!ok()) {
        if (exited) throw new Error(`the child ended while waiting for ${what}: ${err.join("\n")}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      await until("the first commits", () => commits > 20, 30_000);
      for (let i = 1; i <= RESTARTS; i++) {
        await restartService("postgres", { log: () => {} });
        const before = commits;
        await until(`commits after restart ${i}`, () => commits > before + 20, 30_000);
      }
      proc.kill("SIGTERM");
      const st = await status;
      await Promise.all([out, errDone]);
      const errors = lines.filter((l) => l.startsWith("ERROR"));
      console.error(
        `${RESTARTS} restarts, ${commits} commits; distinct failures seen:\n  ${
          errors.join("\n  ") || "none"
        }`,
      );
      assert.equal(st.code, 0, `the child survived every restart: ${err.slice(-5).join("\n")}`);
      assert.deepEqual(
        errors.filter((l) => !l.startsWith("ERROR transient")),
        [],
        "every failure during a restart is transient",
      );
    } finally {
      if (!exited) proc.kill("SIGKILL");
      await status;
      await db.drop();
    }
  },
});
