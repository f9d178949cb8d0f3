/**
 * The Kafka port's contract, run against the real broker for BOTH adapters (platformatic and
 * kafkajs): produce with per-partition acknowledgements, read back byte-exact, consume from a
 * given position, pause/resume, two members sharing a topic (assign/revoke), end and
 * committed offsets, errors that say whether they are retriable, SASL/SCRAM and TLS.
 */
import assert from "node:assert/strict";
import type { Config } from "../src/config/mod.ts";
import {
  type ConsumedRecord,
  createKafkaClient,
  type FetchedBatch,
  type GroupConsumer,
  type GroupListener,
  KAFKA_CLIENTS,
  type KafkaClient,
  type KafkaClientName,
  KafkaError,
  partitionOf,
  readTopic,
} from "../src/kafka/mod.ts";
import { freshTopic, testConfig, testEnv, uniqueName } from "./_support.ts";

const env = testEnv();
const enc = new TextEncoder();
const dec = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** A group member whose events are recorded. */
function recorder() {
  const got = new Map<number, ConsumedRecord[]>();
  const assigned = new Set<number>();
  const events: string[] = [];
  const failures: KafkaError[] = [];
  const listener: GroupListener = {
    assigned: (ps) => {
      for (const p of ps) assigned.add(p);
      events.push(`+${ps.join(",")}`);
    },
    revoked: (ps, reason) => {
      for (const p of ps) assigned.delete(p);
      events.push(`-${ps.join(",")}:${reason}`);
    },
    records: (b: FetchedBatch) => {
      let list = got.get(b.partition);
      if (!list) got.set(b.partition, list = []);
      list.push(...b.records);
    },
    failed: (e) => failures.push(e),
  };
  const count = () => [...got.values()].reduce((n, l) => n + l.length, 0);
  return { got, assigned, events, failures, listener, count };
}

async function produceNumbered(client: KafkaClient, topic: string, n: number, partitions: number) {
  const producer = client.producer();
  try {
    return await producer.send(
      topic,
      Array.from({ length: n }, (_, i) => ({
        key: `k${i}`,
        value: enc.encode(`v${i}`),
        partition: i % partitions,
      })),
    );
  } finally {
    await producer.close();
  }
}

/**
 * Sends `batches` record batches to `partition`, one send each: 5 records of 1000 random
 * (incompressible) bytes, ~5 KB per batch.
 */
async function produceBatches(
  client: KafkaClient,
  topic: string,
  partition: number,
  batches: number,
) {
  const producer = client.producer();
  try {
    for (let b = 0; b < batches; b++) {
      await producer.send(
        topic,
        Array.from({ length: 5 }, (_, i) => ({
          key: `k${b}-${i}`,
          value: crypto.getRandomValues(new Uint8Array(1000)),
          partition,
        })),
      );
    }
  } finally {
    await producer.close();
  }
}

function contract(name: KafkaClientName) {
  Deno.test({
    name: `kafka port contract with the ${name} adapter`,
    sanitizeOps: false,
    sanitizeResources: false,
    async fn(t) {
      const config = testConfig({ "kafka-client": name });
      const client = createKafkaClient(config, { clientSuffix: `contract-${name}` });
      assert.equal(client.name, name);

      await t.step("a send is acknowledged per partition and reads back byte-exact", async () => {
        const topic = await freshTopic(config, `contract_${name}_send`, 3);
        const producer = client.producer();
        const records = Array.from({ length: 60 }, (_, i) => ({
          key: `user-${i}`,
          value: i === 7 ? null : Uint8Array.of(0, 255, i, 10, 13),
          headers: i % 2 ? { "h-one": `x${i}`, "h-bin": Uint8Array.of(1, 2, i) } : undefined,
          timestamp: Date.UTC(2026, 0, 1) + i,
        }));
        const acks = await producer.send(topic, records);
        const acks2 = await producer.send(topic, records.slice(0, 6));
        await producer.close();
        // partitions by Java's murmur2 of the key
        const perPartition = new Map<number, number>();
        for (const r of records) {
          const p = partitionOf(r.key, 3);
          perPartition.set(p, (perPartition.get(p) ?? 0) + 1);
        }
        assert.deepEqual(
          new Map(acks.map((a) => [a.partition, a.count])),
          perPartition,
          "one ack per partition with its record count",
        );
        for (const a of acks) assert.equal(a.baseOffset, 0n);
        for (const a of acks2) assert.equal(a.baseOffset, BigInt(perPartition.get(a.partition)!));
        const read: { partition: number; rec: ConsumedRecord }[] = [];
        await readTopic(client, topic, (b) => {
          for (const rec of b.records) read.push({ partition: b.partition, rec });
        });
        assert.equal(read.length, 66);
        const first = read.filter((r) => r.rec.offset < BigInt(perPartition.get(r.partition)!));
        const byKey = new Map(first.map((r) => [dec.decode(r.rec.key!), r]));
        for (const [i, r] of records.entries()) {
          const got = byKey.get(r.key)!;
          assert.ok(got, `record ${i} read back`);
          assert.equal(got.partition, partitionOf(r.key, 3));
          assert.equal(got.rec.timestamp, r.timestamp);
          if (r.value === null) assert.equal(got.rec.value, null, "tombstone stays null");
          else assert.deepEqual([...got.rec.value!], [...r.value]);
          if (r.headers) {
            const h = new Map(got.rec.headers?.map(([k, v]) => [k, [...v]]));
            assert.deepEqual(h.get("h-one"), [...enc.encode(`x${i}`)]);
            assert.deepEqual(h.get("h-bin"), [1, 2, i]);
          } else assert.equal(got.rec.headers, undefined);
        }
      });

      await t.step("end offsets and committed offsets", async () => {
        const topic = await freshTopic(config, `contract_${name}_offsets`, 2);
        await produceNumbered(client, topic, 30, 2);
        const admin = client.admin();
        try {
          const offs = await admin.offsets(topic);
          assert.deepEqual(
            [...offs].sort(),
            [[0, { low: 0n, high: 15n }], [1, { low: 0n, high: 15n }]],
          );
          assert.equal(await admin.partitionCount(topic), 2);
          assert.ok((await admin.listTopics()).includes(topic));
          const group = uniqueName("contract_commit");
          assert.equal((await admin.committedOffsets(group, topic)).size, 0);
          const member = client.groupConsumer({ topic, group, sessionTimeoutMs: 10_000 });
          const r = recorder();
          await member.start(r.listener);
          await until("assignment", () => r.assigned.size === 2);
          await member.commit(new Map([[0, 7n], [1, 3n]]));
          await member.close();
          assert.deepEqual([...await admin.committedOffsets(group, topic)].sort(), [[0, 7n], [
            1,
            3n,
          ]]);
          await admin.deleteGroups([group]);
        } finally {
          await admin.close();
        }
      });

      await t.step(
        "consumes from the sought position; pause stops a partition, resume restarts it",
        async () => {
          const topic = await freshTopic(config, `contract_${name}_seek`, 2);
          await produceNumbered(client, topic, 40, 2);
          const member = client.groupConsumer({
            topic,
            group: uniqueName("contract_seek"),
            sessionTimeoutMs: 10_000,
          });
          const r = recorder();
          await member.start(r.listener);
          try {
            await until("assignment", () => r.assigned.size === 2);
            await sleep(300);
            assert.equal(r.count(), 0, "nothing is delivered before a seek");
            member.seek(0, 12n);
            member.seek(1, 0n);
            await until("records from the positions", () => r.count() >= 8 + 20);
            assert.deepEqual(r.got.get(0)!.map((x) => x.offset)[0], 12n);
            assert.deepEqual(r.got.get(1)!.map((x) => x.offset)[0], 0n);
            assert.equal(dec.decode(r.got.get(0)![0]!.value!), "v24");
            member.pause(1);
            await sleep(300);
            const before1 = r.got.get(1)!.length;
            const before0 = r.got.get(0)!.length;
            await produceNumbered(client, topic, 10, 2);
            await until("partition 0 goes on", () => r.got.get(0)!.length >= before0 + 5);
            await sleep(700);
            assert.equal(r.got.get(1)!.length, before1, "a paused partition delivers nothing");
            member.resume(1);
            await until("partition 1 resumes", () => r.got.get(1)!.length >= before1 + 5);
            const offs1 = r.got.get(1)!.map((x) => x.offset);
            assert.deepEqual(
              offs1,
              Array.from({ length: 25 }, (_, i) => BigInt(i)),
              "in order, once",
            );
            // a seek back re-delivers from there
            member.seek(0, 0n);
            await until(
              "partition 0 again from 0",
              () => r.got.get(0)!.some((x) => x.offset === 0n),
            );
            assert.deepEqual(r.failures, []);
          } finally {
            await member.close();
          }
        },
      );

      await t.step(
        "a fetch brings no more than its per-partition byte bound, and every record in order",
        async () => {
          const topic = await freshTopic(config, `contract_${name}_bound`, 1);
          await produceBatches(client, topic, 0, 40);
          const sizes: number[] = [];
          const r = recorder();
          const member = client.groupConsumer({
            topic,
            group: uniqueName("contract_bound"),
            sessionTimeoutMs: 10_000,
            maxBytesPerPartition: 8 * 1024,
          });
          await member.start({
            ...r.listener,
            records: (b) => {
              if (b.records.length > 0) sizes.push(b.records.length);
              r.listener.records(b);
            },
          });
          try {
            await until("assignment", () => r.assigned.size === 1);
            member.seek(0, 0n);
            await until("every record", () => r.count() >= 200);
            assert.deepEqual(
              r.got.get(0)!.map((x) => x.offset),
              Array.from({ length: 200 }, (_, i) => BigInt(i)),
            );
            // 8 KiB holds one ~5 KB batch (the broker may add a truncated second one, which
            // the client drops); the default bound would bring a dozen batches at once
            assert.ok(Math.max(...sizes) <= 10, `records per delivery: ${sizes.join(",")}`);
            assert.ok(sizes.length >= 20, `deliveries: ${sizes.length}`);
            assert.deepEqual(r.failures, []);
          } finally {
            await member.close();
          }
        },
      );

      await t.step(
        "a partition resumed while the others have nothing new is fetched again at once",
        async () => {
          const topic = await freshTopic(config, `contract_${name}_resume`, 2);
          await produceBatches(client, topic, 1, 30); // partition 0 stays empty
          const member = client.groupConsumer({
            topic,
            group: uniqueName("contract_resume"),
            sessionTimeoutMs: 10_000,
            maxBytesPerPartition: 8 * 1024,
            maxWaitMs: 500,
          });
          const r = recorder();
          const deliveries: number[] = [];
          let pauseOnce = true;
          await member.start({
            ...r.listener,
            records: (b) => {
              r.listener.records(b);
              if (b.partition !== 1 || b.records.length === 0) return;
              deliveries.push(performance.now());
              if (pauseOnce) {
                pauseOnce = false;
                member.pause(1); // as the core does when a handler is busy
              }
            },
          });
          try {
            await until("assignment", () => r.assigned.size === 2);
            member.seek(0, 0n);
            member.seek(1, 0n);
            await until("the first delivery", () => deliveries.length > 0);
            // the fetch that follows carries only the empty partition 0
            await sleep(150);
            const before = r.got.get(1)!.length;
            const resumedAt = performance.now();
            member.resume(1);
            await until("partition 1 again", () => r.got.get(1)!.length > before, 10_000);
            const waited = deliveries.at(-1)! - resumedAt;
            console.log(
              `[contract ${name}] resumed partition fetched after ${waited.toFixed(0)} ms`,
            );
            // without a brief poll it would wait for the empty partition's long poll (500 ms)
            if (name === "platformatic") assert.ok(waited < 250, `waited ${waited.toFixed(0)} ms`);
            await until("every record", () => r.count() >= 150);
            assert.deepEqual(
              r.got.get(1)!.map((x) => x.offset),
              Array.from({ length: 150 }, (_, i) => BigInt(i)),
            );
            assert.deepEqual(r.failures, []);
          } finally {
            await member.close();
          }
        },
      );

      await t.step(
        "two members share a topic: the second gets some partitions, the first loses them",
        async () => {
          const topic = await freshTopic(config, `contract_${name}_group`, 4);
          const group = uniqueName("contract_group");
          const opts = { topic, group, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 };
          const a: GroupConsumer = client.groupConsumer(opts);
          const ra = recorder();
          await a.start(ra.listener);
          await until("A owns everything", () => ra.assigned.size === 4);
          const b: GroupConsumer = client.groupConsumer(opts);
          const rb = recorder();
          await b.start(rb.listener);
          try {
            await until(
              "the partitions split",
              () => rb.assigned.size > 0 && ra.assigned.size + rb.assigned.size === 4,
              45_000,
            );
            const union = new Set([...ra.assigned, ...rb.assigned]);
            assert.equal(union.size, 4, "every partition has exactly one owner");
            assert.ok(ra.events.some((e) => e.startsWith("-")), "A was told what it lost");
            if (a.capabilities.rebalancing === "cooperative") {
              // cooperative: A keeps what it does not give away, without a revoke of it
              const lost = ra.events.filter((e) => e.startsWith("-")).join(" ");
              for (const p of ra.assigned) assert.ok(!lost.includes(String(p)), `${p} kept`);
            }
            await b.close();
            await until("A owns everything again", () => ra.assigned.size === 4, 45_000);
          } finally {
            await a.close();
            await b.close();
          }
        },
      );

      await t.step("errors say whether retrying can help", async () => {
        const admin = client.admin();
        try {
          await assert.rejects(admin.partitionCount(uniqueName("no_such_topic")), (e) => {
            assert.ok(e instanceof KafkaError, String(e));
            return true;
          });
        } finally {
          await admin.close();
        }
      });

      const sasl = env.NEXUS_STACK_KAFKA_SASL_ADDRESS;
      await t.step({
        name: "SASL/SCRAM-SHA-512: produce and read back; a wrong password is not retriable",
        ignore: !sasl,
        fn: async () => {
          const topic = await freshTopic(config, `contract_${name}_sasl`, 1);
          const flags = (password: string): Config =>
            testConfig({
              "kafka-client": name,
              "kafka-brokers": sasl!,
              "kafka-sasl-mechanism": "scram-sha-512",
              "kafka-sasl-username": env.NEXUS_STACK_KAFKA_SASL_USERNAME!,
              "kafka-sasl-password": password,
            });
          const good = createKafkaClient(flags(env.NEXUS_STACK_KAFKA_SASL_PASSWORD!));
          await produceNumbered(good, topic, 10, 1);
          let n = 0;
          await readTopic(good, topic, (b) => void (n += b.records.length));
          assert.equal(n, 10);
          const bad = createKafkaClient(flags("not-the-password-0123"), {
            connectTimeoutMs: 3000,
          }).admin();
          try {
            await assert.rejects(bad.listTopics(), (e) => {
              assert.ok(e instanceof KafkaError, String(e));
              assert.equal(e.retriable, false, e.message);
              return true;
            });
          } finally {
            await bad.close();
          }
        },
      });

      const tls = env.NEXUS_STACK_KAFKA_TLS_ADDRESS;
      await t.step({
        name: "TLS: works with the CA, refused without it",
        ignore: !tls || !env.NEXUS_STACK_KAFKA_CA_FILE,
        fn: async () => {
          const topic = await freshTopic(config, `contract_${name}_tls`, 1);
          const withCa = createKafkaClient(testConfig({
            "kafka-client": name,
            "kafka-brokers": tls!,
            "kafka-tls": "true",
            "kafka-tls-ca-file": env.NEXUS_STACK_KAFKA_CA_FILE!,
          }));
          await produceNumbered(withCa, topic, 5, 1);
          let n = 0;
          await readTopic(withCa, topic, (b) => void (n += b.records.length));
          assert.equal(n, 5);
          const noCa = createKafkaClient(
            testConfig({ "kafka-client": name, "kafka-brokers": tls!, "kafka-tls": "true" }),
            { connectTimeoutMs: 3000, requestTimeoutMs: 5000 },
          ).admin();
          try {
            await assert.rejects(noCa.listTopics());
          } finally {
            await noCa.close();
          }
        },
      });
    },
  });
}

for (const name of KAFKA_CLIENTS) contract(name);
