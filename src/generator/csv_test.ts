import assert from "node:assert/strict";
import { parse } from "csv-parse/sync";
import { CSV_COLUMNS, CSV_FILES, csvChunks, csvText } from "./csv.ts";

const P = { seed: 5, users: 400, products: 60, orders: 900, start: "2026-01-01T00:00:00.000Z" };

Deno.test("same params give byte-identical CSVs; another seed differs; chunking does not matter", () => {
  for (const f of CSV_FILES) {
    assert.equal(csvText(f, P), csvText(f, P));
    assert.notEqual(csvText(f, P), csvText(f, { ...P, seed: 6 }));
    assert.equal([...csvChunks(f, P, 7)].join(""), csvText(f, P));
  }
});

Deno.test("CSVs parse back with their headers; names with commas and quotes round-trip", () => {
  const users = parse(csvText("users.csv", P), { columns: true }) as Record<string, string>[];
  assert.deepEqual(Object.keys(users[0]!), CSV_COLUMNS["users.csv"]);
  assert.equal(users.length, P.users);
  assert.ok(users.some((u) => u.name!.includes(",")), "a name with a comma");
  assert.ok(users.some((u) => u.name!.includes('"')), "a name with a quote");
  const products = parse(csvText("products.csv", P), { columns: true }) as Record<string, string>[];
  assert.equal(products.length, P.products);
  assert.ok(products.every((p) => /^\d+\.\d\d$/.test(p.price!)));
});

Deno.test("orders reference existing users and products; totals are sums of lines", () => {
  const users = new Set(
    (parse(csvText("users.csv", P), { columns: true }) as Record<string, string>[]).map((u) =>
      u.user_id
    ),
  );
  const products = new Map(
    (parse(csvText("products.csv", P), { columns: true }) as Record<string, string>[]).map((
      p,
    ) => [p.product_id, p.price]),
  );
  const lines = parse(csvText("orders.csv", P), { columns: true }) as Record<string, string>[];
  const cents = (s: string) => Math.round(Number(s) * 100);
  const sums = new Map<string, number>();
  const totals = new Map<string, number>();
  for (const l of lines) {
    assert.ok(users.has(l.user_id!), l.user_id);
    assert.equal(products.get(l.product_id!), l.unit_price);
    assert.equal(cents(l.line_total!), cents(l.unit_price!) * Number(l.quantity));
    sums.set(l.order_id!, (sums.get(l.order_id!) ?? 0) + cents(l.line_total!));
    totals.set(l.order_id!, cents(l.order_total!));
  }
  assert.equal(totals.size, P.orders);
  for (const [id, s] of sums) assert.equal(s, totals.get(id), id);
});
