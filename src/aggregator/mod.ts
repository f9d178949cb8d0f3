/**
 * The aggregator: exactly-once per-minute windows in Postgres, rebuilt by replaying Kafka.
 * See docs/aggregator.md for the output contract and the guarantees.
 *
 * @module
 */
export { type AggregatorOptions, createAggregator, startAggregator } from "./module.ts";
export { aggregatorCommands, rebuildCommand } from "./rebuild.ts";
export { DLQ_HEADERS, dlqKey } from "./dlq.ts";
export { claimPartition, FencedError, PROCESSOR, writeFlush } from "./sink.ts";
export { type Checkpoint, type FlushPlan, PartitionState } from "./partials.ts";
export { revenueCents, WINDOW_MS, windowStart } from "./window.ts";
