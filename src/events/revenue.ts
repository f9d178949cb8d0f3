/**
 * The revenue of one event, the one rule every reader (aggregator, rebuild, verify) applies.
 *
 * @module
 */
import type { EventCore } from "./event.ts";

/** True when `price` (0..MAX_PRICE) has at most two decimals, as its JSON text says. */
export function wholeCents(price: number): boolean {
  return Math.round(price * 100) / 100 === price;
}

/**
 * Revenue of one event in integer cents: price in cents × quantity; 0 unless a purchase. Exact:
 * the contract bounds price (whole cents, ≤ 1,000,000) and quantity (≤ 10,000), so one event is
 * at most 10^12 cents, far inside a safe integer; sums over events are `bigint`.
 */
export function revenueCents(event: EventCore): number {
  if (event.action !== "purchase") return 0;
  const price = event.price ?? 0;
  const quantity = event.quantity ?? 1;
  return Math.round(price * 100) * quantity;
}
