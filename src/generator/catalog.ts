/**
 * The dimension data behind the stream: users, products and orders, deterministic from the
 * seed. Ids are shared with the click events (`u000001`, `p00001`), and a product's price is
 * the price of its purchases in the stream.
 *
 * @module
 */
import { Random, ZipfSampler } from "./random.ts";

/** One user (a row of users.csv). */
export interface UserRow {
  user_id: string;
  name: string;
  email: string;
  country: string;
  signup_at: string;
}

/** One product (a row of products.csv). Price in integer cents. */
export interface ProductRow {
  product_id: string;
  name: string;
  category: string;
  priceCents: number;
  created_at: string;
}

/** One order line (a row of orders.csv). Money in integer cents. */
export interface OrderLineRow {
  order_id: string;
  line_no: number;
  user_id: string;
  product_id: string;
  quantity: number;
  unitPriceCents: number;
  lineTotalCents: number;
  orderTotalCents: number;
  ordered_at: string;
  status: string;
}

/** The user id of 0-based index `i`. */
export function userId(i: number): string {
  return `u${String(i + 1).padStart(6, "0")}`;
}

/** The product id of 0-based index `i`. */
export function productId(i: number): string {
  return `p${String(i + 1).padStart(5, "0")}`;
}

/** Formats integer cents as a decimal with exactly two digits, e.g. 1999 → "19.99". */
export function formatCents(cents: number): string {
  const sign = cents < 0 ? "-" : "";
  const c = Math.abs(cents);
  return `${sign}${Math.floor(c / 100)}.${String(c % 100).padStart(2, "0")}`;
}

const FIRST = [
  "Ada",
  "Alan",
  "Grace",
  "Linus",
  "Margaret",
  "Ken",
  "Barbara",
  "Dennis",
  "Frances",
  "Edsger",
  "Radia",
  "Tim",
  "Sophie",
  "Hedy",
  "José",
  "Zoë",
  "Bjørn",
  "Aiko",
];
const LAST = [
  "Lovelace",
  "Turing",
  "Hopper",
  "Torvalds",
  "Hamilton",
  "Thompson",
  "Liskov",
  "Ritchie",
  "Allen",
  "Dijkstra",
  "Perlman",
  "O'Neil",
  "Wilson",
  "Lamarr",
  "García",
  "Müller",
  "van der Berg",
];
const SUFFIX = [", Jr.", ", PhD", ", III"];
const NICK = ['"Ace"', '"Bug"', '"The Builder"'];
const COUNTRIES = ["US", "GB", "DE", "FR", "IN", "BR", "JP", "NL", "ES", "CA", "AU", "SE"];
const ADJ = ["Classic", "Deluxe", "Compact", "Ultra", "Eco", "Smart", "Vintage", "Pro", "Mini"];
const NOUN = ["Lamp", "Kettle", "Backpack", "Headphones", "Mug", "Chair", "Monitor", "Sneaker"];
const CATEGORIES = ["home", "kitchen", "travel", "audio", "office", "fashion", "sports", "toys"];
const SIZES = [', 12" wide', ", large", ', 3/4" fitting', ", red, blue"];
const STATUSES = ["placed", "shipped", "delivered", "cancelled"];
const DAY = 86_400_000;

/** Users 0..n-1. Some names contain commas and quotes, to exercise CSV quoting. */
export function* generateUsers(seed: number, n: number, start: string): Generator<UserRow> {
  const rng = new Random(seed, "users");
  const t0 = Date.parse(start);
  for (let i = 0; i < n; i++) {
    let name = `${rng.pick(FIRST)} ${rng.pick(LAST)}`;
    const extra = rng.next();
    if (extra < 0.05) name += rng.pick(SUFFIX);
    else if (extra < 0.08) name = name.replace(" ", ` ${rng.pick(NICK)} `);
    const id = userId(i);
    yield {
      user_id: id,
      name,
      email: `${id}@example.com`,
      country: rng.pick(COUNTRIES),
      signup_at: new Date(t0 - rng.range(1, 3 * 365) * DAY - rng.int(DAY)).toISOString(),
    };
  }
}

/** A product's price in cents: log-uniform between 1.99 and ~1000, ending in 9 mostly. */
function drawPrice(rng: Random): number {
  const dollars = Math.exp(Math.log(2) + rng.next() * (Math.log(1000) - Math.log(2)));
  const cents = Math.max(199, Math.round(dollars * 100));
  return rng.chance(0.7) ? cents - (cents % 100) + 99 : cents;
}

/** Products 0..n-1. Some names contain commas and quotes. */
export function* generateProducts(seed: number, n: number, start: string): Generator<ProductRow> {
  const rng = new Random(seed, "products");
  const t0 = Date.parse(start);
  for (let i = 0; i < n; i++) {
    let name = `${rng.pick(ADJ)} ${rng.pick(NOUN)}`;
    if (rng.chance(0.1)) name += rng.pick(SIZES);
    yield {
      product_id: productId(i),
      name,
      category: rng.pick(CATEGORIES),
      priceCents: drawPrice(rng),
      created_at: new Date(t0 - rng.range(30, 2 * 365) * DAY - rng.int(DAY)).toISOString(),
    };
  }
}

/** Every product's price in cents, indexed by product index. */
export function productPrices(seed: number, n: number, start: string): Int32Array {
  const out = new Int32Array(n);
  let i = 0;
  for (const p of generateProducts(seed, n, start)) out[i++] = p.priceCents;
  return out;
}

/**
 * `orders` orders of 1-4 lines each, in the 30 days before `start`. Users and products are
 * Zipf-skewed; unit price is the product's price; order total = sum of its line totals.
 */
export function* generateOrders(
  seed: number,
  orders: number,
  users: number,
  products: number,
  start: string,
): Generator<OrderLineRow> {
  const rng = new Random(seed, "orders");
  const prices = productPrices(seed, products, start);
  const userZipf = new ZipfSampler(users, 0.6);
  const productZipf = new ZipfSampler(products, 1.1);
  const t0 = Date.parse(start);
  for (let o = 0; o < orders; o++) {
    const user = userId(userZipf.sample(rng));
    const lines = Math.min(products, 1 + Math.floor(-Math.log(1 - rng.next()) * 0.9));
    const chosen = new Set<number>();
    while (chosen.size < Math.min(lines, 4)) chosen.add(productZipf.sample(rng));
    const drafts = [...chosen].map((p) => {
      const quantity = rng.chance(0.75) ? 1 : rng.range(2, 5);
      return { p, quantity, unit: prices[p]!, total: prices[p]! * quantity };
    });
    const orderTotal = drafts.reduce((s, d) => s + d.total, 0);
    const orderedAt = new Date(t0 - 30 * DAY + Math.floor((o + rng.next()) * 30 * DAY / orders));
    const status = rng.pick(STATUSES);
    const orderId = `o${String(o + 1).padStart(8, "0")}`;
    for (let l = 0; l < drafts.length; l++) {
      const d = drafts[l]!;
      yield {
        order_id: orderId,
        line_no: l + 1,
        user_id: user,
        product_id: productId(d.p),
        quantity: d.quantity,
        unitPriceCents: d.unit,
        lineTotalCents: d.total,
        orderTotalCents: orderTotal,
        ordered_at: orderedAt.toISOString(),
        status,
      };
    }
  }
}
