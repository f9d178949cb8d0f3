import assert from "node:assert/strict";
import { checkRow, COLUMNS, headerIndex, kindOfFile, toCents } from "./validate.ts";

const usersIdx = headerIndex("users", [...COLUMNS.users]);
const ordersIdx = headerIndex("orders", [...COLUMNS.orders]);
const order = [
  "o1",
  "1",
  "u000001",
  "p00001",
  "2",
  "9.99",
  "19.98",
  "19.98",
  "2025-12-01T10:00:00.000Z",
  "placed",
];

Deno.test("a good user and a good order line pass", () => {
  const r = checkRow("users", usersIdx, [
    "u1",
    'Ada "Ace" Lovelace, Jr.',
    "a@x.org",
    "GB",
    "2024-01-01T00:00:00.000Z",
  ]);
  assert.ok(r.ok);
  assert.ok(checkRow("orders", ordersIdx, order).ok);
});

Deno.test("each bad-row kind is rejected with its reason", () => {
  const cases: [string[], RegExp][] = [
    [order.slice(0, 9), /malformed CSV line: 9 fields, expected 10/],
    [order.map((v, i) => (i === 2 ? "" : v)), /missing required field: user_id/],
    [order.map((v, i) => (i === 4 ? "two" : v)), /bad type: quantity/],
    [order.map((v, i) => (i === 5 ? "9.999" : v)), /bad type: unit_price/],
    [order.map((v, i) => (i === 8 ? "yesterday" : v)), /bad type: ordered_at/],
    [order.map((v, i) => (i === 6 ? "20.00" : v)), /inconsistent: line_total/],
  ];
  for (const [fields, re] of cases) {
    const r = checkRow("orders", ordersIdx, fields);
    assert.ok(!r.ok);
    assert.match(r.reason, re);
  }
});

Deno.test("header may be in any order but must have every column", () => {
  const idx = headerIndex("users", ["email", "user_id", "name", "signup_at", "country"]);
  const r = checkRow("users", idx, ["a@b.c", "u9", "N", "2024-01-01T00:00:00Z", ""]);
  assert.ok(r.ok && r.row.user_id === "u9" && r.row.country === "");
  assert.throws(() => headerIndex("users", ["user_id", "name"]), /lacks column/);
});

Deno.test("cents and file kinds", () => {
  assert.equal(toCents("19.99"), 1999);
  assert.equal(toCents("5"), 500);
  assert.equal(toCents("0.5"), 50);
  assert.equal(kindOfFile("runs/x/orders.csv"), "orders");
  assert.equal(kindOfFile("notes.txt"), undefined);
});
