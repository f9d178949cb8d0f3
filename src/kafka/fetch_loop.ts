/**
 * The @platformatic/kafka adapter's fetch loop: Nexus fetches the partitions it consumes itself
 * (the library's `Consumer.fetch`), instead of through the library's `MessagesStream`, so that
 * a partition can be sought, paused and resumed on its own and the next fetch is in flight
 * while the previous records are still being processed.
 *
 * One fetch per leader broker is in flight at a time, carrying every active partition that
 * broker leads (the library keeps an incremental fetch session per broker, KIP-227). When a
 * response arrives its records are handed over and the next fetch goes out in the same turn of
 * the event loop, before the handlers process those records (they run in later microtasks): the
 * broker prepares the next response while this one is processed. Issuing it a microtask later,
 * after an `await` of the (cached) metadata, put it behind all that processing — the consumer
 * then sat idle for a round trip after every batch (10–20 % of a catch-up). Each
 * partition carries an epoch that `seek` and `remove` bump: records of a fetch issued before
 * the last seek are dropped, so after a seek only records from the sought offset arrive.
 *
 * A paused partition is left out of the fetches, and a fetch of partitions without new records
 * waits at the broker up to `maxWaitMs` (a long poll). A partition resumed while such a fetch is
 * in flight could only join the next one: one lagging partition among caught-up ones, paused
 * while its handler flushes, would then get two fetches per long poll (a few hundred records
 * per half second). So while any paused partition has records left in the log, fetches wait at
 * most {@linkcode BRIEF_WAIT_MS}.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import type { ClusterMetadata, Consumer, fetchV17, RecordsBatch } from "@platformatic/kafka";

type FetchResponse = fetchV17.FetchResponse;
import type { Logger } from "../log/logger.ts";
import type { ConsumedRecord, FetchedBatch } from "./port.ts";

/** What the loop reports. */
export interface FetchSink {
  /** Records (possibly none, to report a new end offset) of one partition. */
  records(batch: FetchedBatch): void;
  /** A partition's position is outside the log: where the log now starts and ends. */
  outOfRange(partition: number, low: bigint, high: bigint): void;
  /** Fetching keeps failing: the latest error (the loop keeps retrying). */
  trouble(error: unknown): void;
}

/** Options of `FetchLoop`. */
export interface FetchLoopOptions {
  topic: string;
  /** Largest response per partition, bytes. */
  maxBytesPerPartition: number;
  /** Largest response, bytes. */
  maxBytes: number;
  /** Longest time the broker waits for data, ms. */
  maxWaitMs: number;
  log: Logger;
}

interface PartitionFetch {
  offset: bigint;
  epoch: number;
  paused: boolean;
  /** Last end offset delivered (empty batches are sent only when it changes). */
  reportedHigh: bigint;
}

const IS_CONTROL = 0x20;
/** Longest broker wait of a fetch while a paused partition has records left to fetch, ms. */
const BRIEF_WAIT_MS = 10;
const OFFSET_OUT_OF_RANGE = 1;

/** Fetches a set of partitions of one topic from the given offsets, until stopped. */
export class FetchLoop {
  readonly #client: Consumer;
  readonly #opts: FetchLoopOptions;
  readonly #sink: FetchSink;
  readonly #parts = new Map<number, PartitionFetch>();
  readonly #inflight = new Set<number>();
  #epochs = 0;
  #scheduled = false;
  #stopped = false;
  #failures = 0;
  #retryTimer?: ReturnType<typeof setTimeout>;

  /** `client` is a library consumer used only to fetch (its own connections, no group). */
  constructor(client: Consumer, opts: FetchLoopOptions, sink: FetchSink) {
    this.#client = client;
    this.#opts = opts;
    this.#sink = sink;
    client.topics.track(opts.topic);
  }

  /** Fetches `partition` from `offset` next (records of earlier fetches are dropped). */
  seek(partition: number, offset: bigint): void {
    const p = this.#parts.get(partition);
    if (p) {
      p.offset = offset;
      p.epoch = ++this.#epochs;
    } else {
      this.#parts.set(partition, {
        offset,
        epoch: ++this.#epochs,
        paused: false,
        reportedHigh: -2n,
      });
    }
    this.#kick();
  }

  /** Stops fetching `partition` and forgets it. */
  remove(partition: number): void {
    this.#parts.delete(partition);
  }

  pause(partition: number): void {
    const p = this.#parts.get(partition);
    if (p) p.paused = true;
  }

  resume(partition: number): void {
    const p = this.#parts.get(partition);
    if (p?.paused) {
      p.paused = false;
      this.#kick();
    }
  }

  /** True while `partition` is being fetched (sought and not removed). */
  has(partition: number): boolean {
    return this.#parts.has(partition);
  }

  /** Stops issuing fetches; responses in flight are dropped. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    this.#parts.clear();
  }

  #kick(): void {
    if (this.#scheduled || this.#stopped || this.#retryTimer !== undefined) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  #failed(e: unknown): void {
    if (this.#stopped) return;
    this.#failures++;
    this.#sink.trouble(e);
    this.#client.clearMetadata();
    const delay = Math.min(5000, 100 * 2 ** Math.min(6, this.#failures - 1));
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#kick();
    }, delay);
  }

  /**
   * Issues a fetch to every leader without one in flight. Synchronous while the library's
   * metadata is cached (its callback then runs at once), so a caller can order it before work
   * it queues.
   */
  #pump(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    const wanted = [...this.#parts].filter(([, p]) => !p.paused);
    if (wanted.length === 0) return;
    let maxWaitMs = this.#opts.maxWaitMs;
    for (const p of this.#parts.values()) {
      if (p.paused && p.reportedHigh > p.offset) maxWaitMs = Math.min(maxWaitMs, BRIEF_WAIT_MS);
    }
    this.#client.metadata({ topics: [this.#opts.topic] }, (error, metadata) => {
      if (this.#stopped) return;
      try {
        if (error || !metadata) throw error ?? new Error("no cluster metadata");
        this.#fetchLeaders(metadata, wanted, maxWaitMs);
      } catch (e) {
        this.#failed(e);
      }
    });
  }

  #fetchLeaders(
    metadata: ClusterMetadata,
    wanted: [number, PartitionFetch][],
    maxWaitMs: number,
  ): void {
    const topic = metadata.topics.get(this.#opts.topic);
    if (!topic) throw new Error(`no metadata for topic ${this.#opts.topic}`);
    const byNode = new Map<number, number[]>();
    for (const [partition] of wanted) {
      const leader = topic.partitions[partition]?.leader ?? -1;
      if (leader < 0) {
        // no leader right now (election): refresh metadata and try again shortly
        throw new Error(`partition ${this.#opts.topic}/${partition} has no leader`);
      }
      if (this.#inflight.has(leader)) continue;
      let list = byNode.get(leader);
      if (!list) byNode.set(leader, list = []);
      list.push(partition);
    }
    for (const [node, partitions] of byNode) {
      this.#fetchFrom(node, topic.id, partitions, maxWaitMs);
    }
  }

  #fetchFrom(node: number, topicId: string, partitions: number[], maxWaitMs: number): void {
    const requested = new Map<number, { offset: bigint; epoch: number }>();
    for (const partition of partitions) {
      const p = this.#parts.get(partition)!;
      requested.set(partition, { offset: p.offset, epoch: p.epoch });
    }
    this.#inflight.add(node);
    this.#client.fetch({
      node,
      maxWaitTime: maxWaitMs,
      maxBytes: this.#opts.maxBytes,
      topics: [{
        topicId,
        partitions: partitions.map((partition) => ({
          partition,
          fetchOffset: requested.get(partition)!.offset,
          partitionMaxBytes: this.#opts.maxBytesPerPartition,
          currentLeaderEpoch: -1,
          lastFetchedEpoch: -1,
        })),
      }],
    }).then(
      (response) => {
        this.#inflight.delete(node);
        this.#failures = 0;
        this.#deliver(response, requested);
        this.#pump(); // before the handlers take these records (see the module doc)
      },
      (error) => {
        this.#inflight.delete(node);
        // a response with per-partition errors still carries the other partitions' records
        const response = (error as { response?: FetchResponse }).response;
        if (response?.responses) this.#deliver(response, requested);
        if (!this.#onlyOutOfRange(response)) this.#failed(error);
        else this.#kick();
      },
    );
  }

  #onlyOutOfRange(response: FetchResponse | undefined): boolean {
    if (!response?.responses) return false;
    let any = false;
    for (const t of response.responses) {
      for (const p of t.partitions) {
        if (p.errorCode === 0) continue;
        if (p.errorCode !== OFFSET_OUT_OF_RANGE) return false;
        any = true;
      }
    }
    return any;
  }

  #deliver(
    response: FetchResponse,
    requested: Map<number, { offset: bigint; epoch: number }>,
  ): void {
    if (this.#stopped) return;
    for (const t of response.responses) {
      for (const pr of t.partitions) {
        const partition = pr.partitionIndex;
        const req = requested.get(partition);
        const state = this.#parts.get(partition);
        // not asked for in this fetch (incremental session), or sought/removed since
        if (!req || !state || state.epoch !== req.epoch) continue;
        if (pr.errorCode === OFFSET_OUT_OF_RANGE) {
          this.#sink.outOfRange(partition, pr.logStartOffset, pr.highWatermark);
          continue;
        }
        if (pr.errorCode !== 0) continue;
        const records: ConsumedRecord[] = [];
        let next = req.offset;
        for (const batch of (pr.records ?? []) as RecordsBatch[]) {
          const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
          if (last + 1n > next) next = last + 1n;
          if (batch.attributes & IS_CONTROL) continue;
          const base = batch.firstOffset;
          const t0 = Number(batch.firstTimestamp);
          for (const r of batch.records) {
            const offset = base + BigInt(r.offsetDelta);
            if (offset < req.offset) continue;
            const rec: ConsumedRecord = {
              offset,
              timestamp: t0 + Number(r.timestampDelta),
              key: r.key as Buffer | null,
              value: r.value as Buffer | null,
            };
            if (r.headers.length > 0) {
              rec.headers = r.headers.map(([k, v]) => [k?.toString() ?? "", v ?? new Uint8Array()]);
            }
            records.push(rec);
          }
        }
        state.offset = next;
        const high = pr.highWatermark;
        if (records.length > 0 || high !== state.reportedHigh) {
          state.reportedHigh = high;
          this.#sink.records({ partition, records, highWatermark: high, fetchOffset: req.offset });
        }
      }
    }
  }
}
