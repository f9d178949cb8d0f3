/**
 * The standalone binary: built with `deno compile` (scripts/compile.ts), then `--help` and
 * `migrate` run from it. Reported as skipped, with the reason, when denort is not available
 * (it cannot be downloaded here: set DENORT_BIN).
 */
import assert from "node:assert/strict";
import { compileNexus, resolveDenortHere } from "../scripts/compile_binary.ts";
import { freshDatabase } from "./_support.ts";

const denort = await resolveDenortHere();

if (!denort.ok) {
  Deno.test({
    name: `compile: standalone binary --help and migrate (skipped: ${denort.reason})`,
    ignore: true,
    fn() {},
  });
} else {
  Deno.test("compile: standalone binary --help and migrate", async () => {
    const dir = await Deno.makeTempDir({ prefix: "nexus-compile-" });
    const root = new URL("..", import.meta.url).pathname;
    const bin = `${dir}/nexus`;
    try {
      assert.equal(await compileNexus({ root, output: bin, log: () => {} }), 0);
      const run = async (args: string[], env: Record<string, string> = {}) => {
        const r = await new Deno.Command(bin, { args, env, cwd: dir, stdin: "null" }).output();
        const dec = new TextDecoder();
        return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
      };
      const help = await run(["--help"]);
      assert.equal(help.code, 0, help.err);
      assert.match(help.out, /Commands:/);
      assert.match(help.out, /migrate/);
      const db = await freshDatabase("compile", undefined).catch(() => undefined);
      if (db) {
        try {
          // A second database, empty: the binary applies every embedded migration.
          const empty = `${db.name}_bin`;
          await db.sql.unsafe(`create database "${empty}"`);
          const url = new URL(db.config.databaseUrl);
          url.pathname = `/${empty}`;
          const env: Record<string, string> = { DATABASE_URL: url.toString() };
          if (db.config.pgPassword) env.PGPASSWORD = db.config.pgPassword;
          const m = await run(["migrate"], env);
          assert.equal(m.code, 0, m.err);
          assert.match(m.out, /applied: 0001_/);
          await db.sql.unsafe(`drop database if exists "${empty}" with (force)`);
        } finally {
          await db.drop();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
