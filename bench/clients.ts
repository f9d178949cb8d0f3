/**
 * Raw client rates through `Transport`: kafkajs vs `@platformatic/kafka`, same records
 * (the generator's values), same explicit partitions, batches of 4000 with one send in
 * flight, acks = all, idempotent; then each client reads one of the produced topics from the
 * earliest offset. Two interleaved rounds; the best of each is kept (the machine is shared).
 *
 * @module
 */
import { generateStream } from "../src/generator/mod.ts";
import { KafkajsTransport, type OutMessage, type Transport } from "../src/kafka/transport.ts";
import { type BenchContext, sleep } from "./context.ts";
import { PlatformaticTransport } from "./transport_platformatic.ts";
import { partitionOf } from "./workload.ts";

async function produce(t: Transport, topic: string, msgs: OutMessage[]): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < msgs.length; i += 4000) {
    await t.produceBatch(topic, msgs.slice(i, i + 4000));
  }
  return msgs.length / ((performance.now() - t0) / 1000);
}

async function consume(t: Transport, topic: string, n: number, group: string): Promise<number> {
  let seen = 0;
  const t0 = performance.now();
  const c = await t.consume(topic, {
    groupId: group,
    onBatch: (b) => {
      for (const r of b.records) if (r.value) seen++;
    },
  });
  const deadline = Date.now() + 300_000;
  while (seen < n && Date.now() < deadline) await sleep(5);
  const ms = performance.now() - t0;
  await c.stop();
  if (seen < n) throw new Error(`${t.name}: consumed ${seen} of ${n}`);
  return n / (ms / 1000);
}

/**
 * The generator's own work (generateStream with its self-check) feeding `t` in batches of
 * 4000 without explicit partitions (the client's default partitioner), one send in flight:
 * what `produceStream` would reach on that client.
 */
async function generatorOn(t: Transport, topic: string, ctx: BenchContext, n: number) {
  const t0 = performance.now();
  let batch: OutMessage[] = [];
  let sent = 0;
  for (const r of generateStream({ ...ctx.params, seed: ctx.params.seed + 7, events: n })) {
    batch.push({ key: r.key, value: r.value });
    if (batch.length >= 4000) {
      await t.produceBatch(topic, batch);
      sent += batch.length;
      batch = [];
    }
  }
  if (batch.length) await t.produceBatch(topic, batch);
  sent += batch.length;
  return sent / ((performance.now() - t0) / 1000);
}

/** Measures both clients; returns the figures for the results file. */
export async function compareClients(ctx: BenchContext): Promise<Record<string, unknown>> {
  const n = ctx.opts.clientRecords;
  const msgs: OutMessage[] = [];
  for (const r of generateStream({ ...ctx.params, events: n }, { selfCheck: false })) {
    if (msgs.length >= n) break;
    msgs.push({ key: r.key, value: r.value, partition: partitionOf(r.key, ctx.opts.partitions) });
  }
  const makers: [string, () => Transport][] = [
    ["kafkajs", () => new KafkajsTransport(ctx.config)],
    ["platformatic", () => new PlatformaticTransport(ctx.config)],
  ];
  type Best = { client: string; produce: number; consume: number; generator: number };
  const best = new Map<string, Best>();
  const rounds: unknown[] = [];
  for (let round = 1; round <= 2; round++) {
    for (const [key, make] of makers) {
      const t = make();
      try {
        const topic = await ctx.topic(`cli_${key}_${round}`);
        const p = await produce(t, topic, msgs);
        const c = await consume(t, topic, msgs.length, `${ctx.runTag}_cli_${key}_${round}`);
        const g = await generatorOn(t, await ctx.topic(`gen_${key}_${round}`), ctx, n);
        rounds.push({ round, client: t.name, produce: p, consume: c, generator: g });
        const b = best.get(key) ?? { client: t.name, produce: 0, consume: 0, generator: 0 };
        best.set(key, {
          client: t.name,
          produce: Math.max(b.produce, p),
          consume: Math.max(b.consume, c),
          generator: Math.max(b.generator, g),
        });
      } finally {
        await t.close();
      }
    }
  }
  return {
    records: msgs.length,
    batch: 4000,
    results: [...best.values()],
    rounds,
    note:
      "same records and explicit partitions; produce: batches of 4000, one in flight, acks=all, idempotent; consume: from earliest until all records seen, group join included; generator: generateStream with self-check feeding the client (default partitioner), batches of 4000, one in flight",
  };
}
