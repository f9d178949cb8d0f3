/**
 * Both Kafka adapters of the port side by side (`@platformatic/kafka` and kafkajs), in the same
 * run and on the same records. For each client, four figures, each with the CPU seconds per
 * million records it cost:
 *
 * - **raw produce**: `producer().send` of the generator's values (explicit partitions) in
 *   batches of 4000, one send in flight (acks = all, idempotent), to a fresh topic; in the
 *   bench process, CPU from `/proc/self/stat`;
 * - **raw consume**: a group consumer (`groupConsumer`, a fresh group; every assigned
 *   partition sought to 0) reading one shared source topic until every record was seen, group
 *   join included like ConsumerPerformance; in the bench process;
 * - **generator**: the generator child (`produceStream`: generate + self-check + produce) with
 *   `NEXUS_KAFKA_CLIENT` set, to a fresh topic; CPU of the child;
 * - **aggregator**: the aggregator child with `NEXUS_KAFKA_CLIENT` set, reading the shared
 *   source topic into a fresh database, READY → every checkpoint at the end; CPU of the child.
 *
 * Two rounds, the clients' order swapped in the second; each figure is the best of the two
 * (highest rate, lowest CPU per million, taken separately): the machine is shared.
 *
 * @module
 */
import { generateStream } from "../src/generator/mod.ts";
import type { KafkaClient, KafkaClientName, KafkaError, OutRecord } from "../src/kafka/mod.ts";
import { aggregatorCatchUp } from "./consume.ts";
import { type BenchContext, total } from "./context.ts";
import { BENCH_CLIENTS, clientLibrary } from "./kafka.ts";
import { runGenerator } from "./produce.ts";
import { cpuSeconds, perMillion } from "./rss.ts";
import { partitionOf } from "./workload.ts";

/** Records per send of the raw produce. */
export const CLIENT_BATCH = 4000;

/** One figure: records per second and CPU seconds per million records. */
export interface ClientRate {
  recordsPerSec: number;
  cpuSecondsPerMillion?: number;
}

/** The four figures of one client (one round, or the best of the rounds). */
export interface ClientFigures {
  client: KafkaClientName;
  library: string;
  produce: ClientRate;
  consume: ClientRate;
  generator: ClientRate;
  aggregator: ClientRate;
}

/** The figure names of `ClientFigures`, in table order. */
export const CLIENT_FIGURES = ["produce", "consume", "generator", "aggregator"] as const;

/** Times `fn` in this process: rate over `records` and CPU per million (`/proc/self/stat`). */
async function timed(records: () => number, fn: () => Promise<void>): Promise<ClientRate> {
  const c0 = cpuSeconds("self");
  const t0 = performance.now();
  await fn();
  const s = (performance.now() - t0) / 1000;
  const c1 = cpuSeconds("self");
  const n = records();
  return {
    recordsPerSec: n / s,
    cpuSecondsPerMillion: perMillion(c0 === undefined || c1 === undefined ? undefined : c1 - c0, n),
  };
}

async function rawProduce(
  kafka: KafkaClient,
  topic: string,
  recs: readonly OutRecord[],
): Promise<ClientRate> {
  const producer = kafka.producer();
  try {
    return await timed(() => recs.length, async () => {
      for (let i = 0; i < recs.length; i += CLIENT_BATCH) {
        const batch = recs.slice(i, i + CLIENT_BATCH);
        const acks = await producer.send(topic, batch);
        const acked = acks.reduce((n, a) => n + a.count, 0);
        if (acked !== batch.length) {
          throw new Error(`${kafka.library}: ${acked} of ${batch.length} records acknowledged`);
        }
      }
    });
  } finally {
    await producer.close();
  }
}

async function rawConsume(
  kafka: KafkaClient,
  topic: string,
  ends: Map<number, number>,
  group: string,
): Promise<ClientRate> {
  const n = total(ends);
  const consumer = kafka.groupConsumer({ topic, group, sessionTimeoutMs: 10_000 });
  const next = new Map<number, bigint>();
  let seen = 0;
  let finish!: () => void, fail!: (e: unknown) => void;
  const all = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  all.catch(() => {}); // a failure before the wait below is still reported by it
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await timed(() => n, async () => {
      await consumer.start({
        assigned: (partitions) => {
          for (const p of partitions) consumer.seek(p, next.get(p) ?? 0n);
        },
        revoked: () => {},
        records: (b) => {
          // count each offset once (a re-delivery after a seek or a rebalance is not new)
          let expect = next.get(b.partition) ?? 0n;
          for (const r of b.records) {
            if (r.offset >= expect) {
              seen++;
              expect = r.offset + 1n;
            }
          }
          next.set(b.partition, expect);
          if (seen >= n) finish();
        },
        failed: (e: KafkaError) => fail(e),
      });
      if (seen < n) {
        await Promise.race([
          all,
          new Promise((_, rej) =>
            timer = setTimeout(
              () => rej(new Error(`${kafka.library}: consumed ${seen} of ${n} within 300 s`)),
              300_000,
            )
          ),
        ]);
      }
    });
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
}

/** Keeps the best of each figure: highest rate, lowest CPU per million. */
function best(a: ClientFigures | undefined, b: ClientFigures): ClientFigures {
  if (!a) return structuredClone(b);
  const out = structuredClone(a);
  for (const k of CLIENT_FIGURES) {
    out[k].recordsPerSec = Math.max(a[k].recordsPerSec, b[k].recordsPerSec);
    const cpus = [a[k].cpuSecondsPerMillion, b[k].cpuSecondsPerMillion].filter((x) =>
      x !== undefined
    );
    out[k].cpuSecondsPerMillion = cpus.length ? Math.min(...cpus) : undefined;
  }
  return out;
}

/** Measures every adapter; returns the figures for the results file. */
export async function compareClients(ctx: BenchContext): Promise<Record<string, unknown>> {
  const n = ctx.opts.clientRecords;
  const recs: OutRecord[] = [];
  for (const r of generateStream({ ...ctx.params, events: n }, { selfCheck: false })) {
    if (recs.length >= n) break;
    recs.push({ key: r.key, value: r.value, partition: partitionOf(r.key, ctx.opts.partitions) });
  }
  // the shared source of the consume figures, written once (untimed) with the run's client
  const source = await ctx.topic("cli_src");
  {
    const producer = ctx.kafka().producer();
    try {
      for (let i = 0; i < recs.length; i += CLIENT_BATCH) {
        await producer.send(source, recs.slice(i, i + CLIENT_BATCH));
      }
    } finally {
      await producer.close();
    }
  }
  const ends = await ctx.ends(source);
  if (total(ends) !== recs.length) {
    throw new Error(`clients: source topic holds ${total(ends)} records, sent ${recs.length}`);
  }
  const bests = new Map<KafkaClientName, ClientFigures>();
  const rounds: (ClientFigures & { round: number })[] = [];
  for (let round = 1; round <= 2; round++) {
    const order = round % 2 === 1 ? [...BENCH_CLIENTS] : [...BENCH_CLIENTS].reverse();
    for (const client of order) {
      const kafka = ctx.kafka(client, `bench-${client}`);
      const tag = `cli_${client}_${round}`;
      const produce = await rawProduce(kafka, await ctx.topic(`${tag}_raw`), recs);
      const consume = await rawConsume(kafka, source, ends, ctx.group(`${tag}_raw`));
      const gen = await runGenerator(
        ctx,
        await ctx.topic(`${tag}_gen`),
        { ...ctx.params, events: n },
        client,
      );
      const agg = await aggregatorCatchUp(
        ctx,
        source,
        await ctx.database(tag),
        `${tag}_agg`,
        client,
      );
      const figures: ClientFigures = {
        client,
        library: kafka.library,
        produce,
        consume,
        generator: {
          recordsPerSec: gen.records / (gen.ms / 1000),
          cpuSecondsPerMillion: perMillion(gen.cpuSeconds ?? undefined, gen.records),
        },
        aggregator: {
          recordsPerSec: agg.records / (agg.ms / 1000),
          cpuSecondsPerMillion: perMillion(agg.cpuSeconds, agg.records),
        },
      };
      rounds.push({ round, ...figures });
      bests.set(client, best(bests.get(client), figures));
    }
  }
  return {
    records: recs.length,
    batch: CLIENT_BATCH,
    rounds: 2,
    mainClient: { client: ctx.opts.client, library: clientLibrary(ctx.config, ctx.opts.client) },
    results: BENCH_CLIENTS.map((c) => bests.get(c)!),
    perRound: rounds,
    note:
      "same records for every client: the generator's first values with explicit partitions. produce: producer().send, batches of 4000, one in flight, acks=all, idempotent, to a fresh topic, in the bench process (connect included). consume: groupConsumer in a fresh group, every assigned partition sought to 0, until every record of one shared source topic was seen (group join included, like ConsumerPerformance), in the bench process. generator: the generator child (produceStream) with NEXUS_KAFKA_CLIENT set. aggregator: the aggregator child with NEXUS_KAFKA_CLIENT set reading the shared source topic into a fresh database (READY → every checkpoint at the end). CPU seconds per million records: utime+stime from /proc/<pid>/stat over the measured interval (the bench process for produce/consume, the child for generator/aggregator). Best of 2 rounds (client order swapped in the second), rate and CPU taken separately",
  };
}
