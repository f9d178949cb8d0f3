/**
 * Proves the three services are real and that the client settings work against them:
 * Kafka produce → consume in a consumer group with the configured client (`NEXUS_KAFKA_CLIENT`,
 * through the Kafka port), a staging table + MERGE transaction in PostgreSQL,
 * and S3 objects written and read back byte-exact, single-part and multipart.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { createKafkaClient } from "../src/kafka/mod.ts";
import { createS3 } from "../src/s3/mod.ts";
import { freshDatabase, freshTopic, testConfig, uniqueName } from "./_support.ts";

const config = testConfig();

Deno.test("the Kafka client produces and consumes in a group through the real broker", async () => {
  const topic = await freshTopic(config, "svc_kafka", 2);
  const kafka = createKafkaClient(config, { clientSuffix: "svc-test" });
  const producer = kafka.producer();
  const sent = Array.from({ length: 500 }, (_, i) => `message-${i}`);
  try {
    await producer.send(topic, sent.map((v, i) => ({ key: `k${i % 7}`, value: Buffer.from(v) })));
  } finally {
    await producer.close();
  }

  const consumer = kafka.groupConsumer({
    topic,
    group: uniqueName("svc_group"),
    sessionTimeoutMs: 10_000,
  });
  const dec = new TextDecoder();
  const got: string[] = [];
  const all = Promise.withResolvers<void>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await consumer.start({
      assigned: (ps) => ps.forEach((p) => consumer.seek(p, 0n)),
      revoked: () => {},
      records: (b) => {
        for (const m of b.records) got.push(dec.decode(m.value!));
        if (got.length >= sent.length) all.resolve();
      },
      failed: (e) => all.reject(e),
    });
    timer = setTimeout(() => all.reject(new Error(`only ${got.length} of 500 consumed`)), 30000);
    await all.promise;
  } finally {
    clearTimeout(timer);
    await consumer.close();
  }
  assert.deepEqual([...got].sort(), [...sent].sort());
});

Deno.test("a staging table and MERGE upsert atomically inside one transaction", async () => {
  const db = await freshDatabase("svc_pg");
  try {
    const { sql } = db;
    await sql`create table merge_target (id integer primary key, total bigint not null)`;
    await sql`insert into merge_target values (1, 10), (2, 20)`;
    const ids = [2, 3];
    const totals = [200, 300];
    await sql.begin(async (tx) => {
      await tx`create temp table merge_stage (id integer, total bigint) on commit drop`;
      await tx`insert into merge_stage
        select * from unnest(${tx.array(ids)}::integer[], ${tx.array(totals)}::bigint[])`;
      await tx`merge into merge_target t using merge_stage s on t.id = s.id
        when matched then update set total = s.total
        when not matched then insert (id, total) values (s.id, s.total)`;
    });
    const rows = await sql<{ id: number; total: string }[]>`
      select id, total from merge_target order by id`;
    assert.deepEqual(rows.map((r) => [r.id, Number(r.total)]), [[1, 10], [2, 200], [3, 300]]);

    await assert.rejects(
      sql.begin(async (tx) => {
        await tx`update merge_target set total = 0`;
        throw new Error("abort on purpose");
      }),
      /abort on purpose/,
    );
    const after = await sql<{ sum: string }[]>`select sum(total)::text as sum from merge_target`;
    assert.equal(after[0]!.sum, "510", "a failed transaction leaves nothing behind");
  } finally {
    await db.drop();
  }
});

async function readAll(body: unknown): Promise<Uint8Array> {
  const b = body as { transformToByteArray(): Promise<Uint8Array> };
  return await b.transformToByteArray();
}

Deno.test("S3 objects read back byte-exact, single-part and multipart", async () => {
  const s3 = createS3(config);
  try {
    const small = crypto.getRandomValues(new Uint8Array(64 * 1024));
    const key1 = `tests/${uniqueName("single")}.bin`;
    await s3.send(
      new PutObjectCommand({ Bucket: config.archiveBucket, Key: key1, Body: small }),
    );
    const got1 = await s3.send(new GetObjectCommand({ Bucket: config.archiveBucket, Key: key1 }));
    assert.deepEqual(await readAll(got1.Body), small);

    // 12 MiB in 5 MiB parts: three parts, the minimum part size S3 allows.
    const big = new Uint8Array(12 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 65536) {
      crypto.getRandomValues(big.subarray(i, i + 65536));
    }
    const key2 = `tests/${uniqueName("multi")}.bin`;
    const parts: number[] = [];
    const upload = new Upload({
      client: s3,
      params: { Bucket: config.archiveBucket, Key: key2, Body: Buffer.from(big) },
      partSize: 5 * 1024 * 1024,
      queueSize: 2,
    });
    upload.on("httpUploadProgress", (p) => p.part && parts.push(p.part));
    await upload.done();
    assert.ok(new Set(parts).size >= 3, `expected 3 parts, saw ${[...new Set(parts)]}`);
    const got2 = await s3.send(new GetObjectCommand({ Bucket: config.archiveBucket, Key: key2 }));
    const back = await readAll(got2.Body);
    assert.equal(back.length, big.length);
    assert.ok(Buffer.from(back).equals(Buffer.from(big)), "multipart object differs");
  } finally {
    s3.destroy();
  }
});
