import assert from "node:assert/strict";
import { createSql, loadMigrations, migrate } from "../src/postgres/mod.ts";
import { testConfig, uniqueName } from "./_support.ts";

const base = testConfig();

async function emptyDatabase() {
  const name = uniqueName("t_migrate");
  const admin = createSql(base, { max: 1 });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base.databaseUrl);
  url.pathname = `/${name}`;
  const config = { ...base, databaseUrl: url.toString() };
  return {
    config,
    async drop() {
      const a = createSql(base, { max: 1 });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

Deno.test("migrations apply to an empty database, then again as a no-op", async () => {
  const db = await emptyDatabase();
  const sql = createSql(db.config, { max: 2 });
  try {
    const all = await loadMigrations();
    assert.ok(all.length >= 1);
    const first = await migrate(sql);
    assert.deepEqual(first.applied, all.map((m) => m.name));
    const second = await migrate(sql);
    assert.deepEqual(second, { applied: [], alreadyApplied: all.length });
    const rows = await sql`select version from nexus_schema_migrations order by version`;
    assert.deepEqual(rows.map((r) => r.version), all.map((m) => m.version));
  } finally {
    await sql.end();
    await db.drop();
  }
});

Deno.test("two concurrent appliers apply each migration exactly once", async () => {
  const db = await emptyDatabase();
  const a = createSql(db.config, { max: 1 });
  const b = createSql(db.config, { max: 1 });
  try {
    const [ra, rb] = await Promise.all([migrate(a), migrate(b)]);
    const all = await loadMigrations();
    assert.equal(ra.applied.length + rb.applied.length, all.length);
    assert.ok(ra.applied.length === 0 || rb.applied.length === 0, "one applier did all the work");
    const rows = await a`select count(*)::int as n from nexus_schema_migrations`;
    assert.equal(rows[0]!.n, all.length);
  } finally {
    await a.end();
    await b.end();
    await db.drop();
  }
});

Deno.test("a failing migration rolls back and is not recorded", async () => {
  const db = await emptyDatabase();
  const sql = createSql(db.config, { max: 1 });
  try {
    const bad = [
      { version: 1, name: "0001_ok.sql", sql: "create table ok_t (id int);", checksum: "a" },
      {
        version: 2,
        name: "0002_bad.sql",
        sql: "create table half_t (id int); select no_such_function();",
        checksum: "b",
      },
    ];
    await assert.rejects(migrate(sql, bad), /0002_bad.sql failed/);
    const recorded = await sql`select name from nexus_schema_migrations`;
    assert.deepEqual(recorded.map((r) => r.name), ["0001_ok.sql"]);
    const half = await sql`select to_regclass('half_t') as t`;
    assert.equal(half[0]!.t, null, "the failed migration's table was rolled back");
    await assert.rejects(
      migrate(sql, [{ ...bad[0]!, checksum: "changed" }]),
      /was changed after it was applied/,
    );
  } finally {
    await sql.end();
    await db.drop();
  }
});
