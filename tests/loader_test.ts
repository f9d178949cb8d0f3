/**
 * Loader integration: real PostgreSQL (a fresh database) and S3. Idempotent re-runs, a
 * rejects row per bad-row kind, fact totals matching the CSV, corrected files updating rows.
 */
import assert from "node:assert/strict";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { csvText } from "../src/generator/csv.ts";
import { writeCsvFiles } from "../src/generator/output.ts";
import {
  loadCommand,
  loadNewRuns,
  loadSources,
  localSources,
  s3Sources,
} from "../src/loader/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { createS3 } from "../src/s3/mod.ts";
import { createSql, loadMigrations, migrate } from "../src/postgres/mod.ts";
import { testConfig, uniqueName } from "./_support.ts";

/**
 * A fresh database with only the loader's migrations (0001 and x2), so this file does not
 * depend on other modules' migrations.
 */
async function freshDatabase(prefix: string) {
  const base = testConfig();
  const name = uniqueName(`t_${prefix}`);
  const admin = createSql(base, { max: 1 });
  await admin.unsafe(`create database "${name}"`);
  await admin.end();
  const url = new URL(base.databaseUrl);
  url.pathname = `/${name}`;
  const config = { ...base, databaseUrl: url.toString() };
  const sql = createSql(config, { max: 4 });
  await migrate(
    sql,
    (await loadMigrations()).filter((m) => m.version === 1 || m.version % 10 === 2),
  );
  return {
    sql,
    config,
    async drop() {
      await sql.end({ timeout: 2 });
      const a = createSql(base, { max: 1 });
      await a.unsafe(`drop database if exists "${name}" with (force)`);
      await a.end();
    },
  };
}

const P = { seed: 3, users: 150, products: 40, orders: 300, start: "2026-01-01T00:00:00.000Z" };
const GOOD_ORDER = "o90000001,1,u000001,p00001,2,9.99,19.98,19.98,2025-12-01T10:00:00.000Z,placed";

/** Bad rows by the reason each must produce. */
const BAD = {
  users: [
    ["u900001,Bad Date,b@x.org,US,notadate", /^bad type: signup_at/],
    ["u900002,,b@x.org,US,2024-01-01T00:00:00.000Z", /^missing required field: name/],
  ],
  products: [["p90001,Thing,home,abc,2024-01-01T00:00:00.000Z", /^bad type: price/]],
  orders: [
    [GOOD_ORDER.replace("u000001", "u999999"), /^unknown user reference: u999999$/],
    [
      GOOD_ORDER.replace("p00001", "p99999").replace("o90000001", "o90000002"),
      /^unknown product reference: p99999$/,
    ],
    ["o90000003,1,u000001,p00001,2", /^malformed CSV line: 5 fields, expected 10/],
    [
      GOOD_ORDER.replace("o90000001,1,u000001,p00001,2", "o90000004,1,u000001,p00001,two"),
      /^bad type: quantity/,
    ],
    [
      GOOD_ORDER.replace("o90000001", "o90000005").replace("placed", ""),
      /^missing required field: status/,
    ],
    [
      'o90000006,1,u000001,"p0"0001,1,1.00,1.00,1.00,2025-12-01T10:00:00.000Z,placed',
      /^malformed CSV line: Invalid Closing Quote/,
    ],
  ],
} as const;

async function tableState(sql: import("../src/postgres/mod.ts").Sql) {
  const [c] = await sql`select
    (select count(*) from dim_users) as users, (select count(*) from dim_products) as products,
    (select count(*) from fact_orders) as lines, (select count(*) from load_rejects) as rejects,
    (select coalesce(sum(line_total), 0)::text from fact_orders) as total,
    (select max(updated_at)::text from fact_orders) as orders_upd,
    (select max(updated_at)::text from dim_users) as users_upd,
    (select md5(string_agg(f::text, '|' order by order_id, line_no)) from fact_orders f) as fact_md5,
    (select md5(string_agg(r::text, '|' order by id)) from load_rejects r) as rej_md5`;
  return c!;
}

function cents(s: string) {
  const [w, f = ""] = s.split(".");
  return Number(w) * 100 + Number(f.padEnd(2, "0"));
}

Deno.test("loader: bad rows rejected with reasons, totals match, re-load is a no-op, corrections update", async (t) => {
  const db = await freshDatabase("loader");
  const dir = await Deno.makeTempDir({ prefix: "nexus_loader_" });
  try {
    await writeCsvFiles(dir, P);
    for (const kind of ["users", "products", "orders"] as const) {
      const extra = BAD[kind].map(([line]) => line).join("\n") + "\n";
      await Deno.writeTextFile(`${dir}/${kind}.csv`, extra, { append: true });
    }
    const sources = await localSources(dir);
    assert.deepEqual(sources.map((s) => s.kind), ["users", "products", "orders"]);

    await t.step(
      "first load: good rows in, one rejects row per bad row with its reason",
      async () => {
        const stats = await loadSources(db.sql, sources, { chunkRows: 100 });
        const orders = stats.find((s) => s.kind === "orders")!;
        assert.equal(stats[0]!.inserted, P.users);
        assert.equal(stats[1]!.inserted, P.products);
        assert.equal(orders.rejected, BAD.orders.length);
        const rejects = await db.sql<
          { file: string; line_number: number; raw_line: string; reason: string }[]
        >`
        select file, line_number, raw_line, reason from load_rejects order by file, line_number`;
        for (const kind of ["users", "products", "orders"] as const) {
          const mine = rejects.filter((r) => r.file.endsWith(`/${kind}.csv`));
          assert.equal(mine.length, BAD[kind].length, kind);
          for (const [line, re] of BAD[kind]) {
            const r = mine.find((x) => x.raw_line === line);
            assert.ok(r, `rejects row for ${line}`);
            assert.match(r.reason, re);
          }
        }
        // line numbers are the file's lines: the bad rows are appended after all good lines
        const orderLines = csvText("orders.csv", P).trimEnd().split("\n").length;
        const ordRejects = rejects.filter((r) => r.file.endsWith("/orders.csv"));
        assert.deepEqual(
          ordRejects.map((r) => r.line_number).sort((a, b) => a - b),
          BAD.orders.map((_, i) => orderLines + 1 + i),
        );
      },
    );

    await t.step("fact totals match the orders CSV", async () => {
      const csv = csvText("orders.csv", P).trimEnd().split("\n").slice(1);
      const sum = csv.reduce((s, l) => s + cents(l.split(",")[6]!), 0);
      const [f] = await db.sql`select count(*)::int as n, sum(line_total)::text as total,
        count(distinct order_id)::int as orders from fact_orders`;
      assert.equal(f!.n, csv.length);
      assert.equal(cents(f!.total), sum);
      assert.equal(f!.orders, P.orders);
      const [bad] = await db.sql`select count(*)::int as n from (select order_id from fact_orders
        group by order_id having sum(line_total) <> min(order_total)) x`;
      assert.equal(bad!.n, 0, "order_total = sum of its lines");
    });

    await t.step("re-loading the same files changes nothing", async () => {
      const before = await tableState(db.sql);
      const stats = await loadSources(db.sql, sources, { chunkRows: 100 });
      assert.ok(stats.every((s) => s.inserted === 0 && s.updated === 0 && !s.firstLoad));
      assert.deepEqual(await tableState(db.sql), before);
    });

    await t.step("a corrected file updates exactly the changed rows", async () => {
      const text = await Deno.readTextFile(`${dir}/products.csv`);
      const lines = text.split("\n");
      const fields = lines[1]!.split(",");
      fields[3] = "1234.56";
      lines[1] = fields.join(",");
      await Deno.writeTextFile(`${dir}/products.csv`, lines.join("\n"));
      const ordText = (await Deno.readTextFile(`${dir}/orders.csv`)).replace(
        /\n(o00000002,1,[^,]+,[^,]+,[^,]+,[^,]+,[^,]+,[^,]+,[^,]+),\w+\n/,
        "\n$1,refunded\n",
      );
      await Deno.writeTextFile(`${dir}/orders.csv`, ordText);
      const stats = await loadSources(db.sql, await localSources(dir), { chunkRows: 100 });
      assert.equal(stats[0]!.updated, 0);
      assert.equal(stats[1]!.updated, 1);
      assert.equal(stats[2]!.updated, 1);
      const [p] = await db
        .sql`select price::text from dim_products where product_id = ${fields[0]!}`;
      assert.equal(p!.price, "1234.56");
      const [o] = await db
        .sql`select status from fact_orders where order_id = 'o00000002' and line_no = 1`;
      assert.equal(o!.status, "refunded");
      const [r] = await db.sql`select count(*)::int as n from load_rejects`;
      const total = BAD.users.length + BAD.products.length + BAD.orders.length;
      assert.equal(r!.n, total, "no duplicate rejects rows");
    });

    await t.step("the load command: --from DIR is a no-op now; usage errors exit 2", async () => {
      const before = await tableState(db.sql);
      const ctx = { config: db.config, log: createLogger("test") };
      assert.equal(await loadCommand.run(["--from", dir, "--no-migrate"], ctx), 0);
      assert.deepEqual(await tableState(db.sql), before);
      assert.equal(await loadCommand.run(["--from", dir, "--prefix", "runs/x"], ctx), 2);
      assert.equal(await loadCommand.run(["--file", "x.csv", "--kind", "carts"], ctx), 2);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
    await db.drop();
  }
});

Deno.test("loader: loads a run prefix from S3 in small chunks; the poller skips loaded runs", async () => {
  const db = await freshDatabase("loader_s3");
  const s3 = createS3(db.config);
  const prefix = `runs/${uniqueName("loadertest")}`;
  try {
    for (const f of ["users.csv", "products.csv", "orders.csv"] as const) {
      await s3.send(
        new PutObjectCommand({
          Bucket: db.config.rawBucket,
          Key: `${prefix}/${f}`,
          Body: csvText(f, P),
        }),
      );
    }
    const sources = await s3Sources(s3, db.config.rawBucket, prefix);
    assert.deepEqual(sources.map((s) => s.file), [
      `s3://${db.config.rawBucket}/${prefix}/users.csv`,
      `s3://${db.config.rawBucket}/${prefix}/products.csv`,
      `s3://${db.config.rawBucket}/${prefix}/orders.csv`,
    ]);
    const stats = await loadSources(db.sql, sources, { chunkRows: 37 });
    assert.ok(stats.every((s) => s.rejected === 0), JSON.stringify(stats));
    // the module's poll: this run is already loaded (same ETags), so nothing is reloaded
    const again = await loadNewRuns(db.sql, s3, db.config.rawBucket, { root: prefix });
    assert.equal(again.length, 0);
    const [c] = await db.sql`select (select count(*) from dim_users)::int as u,
      (select count(*) from fact_orders)::int as f`;
    assert.equal(c!.u, P.users);
    assert.equal(c!.f, csvText("orders.csv", P).trimEnd().split("\n").length - 1);
  } finally {
    for (const f of ["users.csv", "products.csv", "orders.csv"]) {
      await s3.send(
        new (await import("@aws-sdk/client-s3")).DeleteObjectCommand({
          Bucket: db.config.rawBucket,
          Key: `${prefix}/${f}`,
        }),
      ).catch(() => {});
    }
    s3.destroy();
    await db.drop();
  }
});
