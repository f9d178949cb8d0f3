/**
 * The `generate` command end to end: CSVs and manifest in S3 and a local dir, the stream in
 * Kafka, and `--dry-run` reproducing the same manifest without Kafka or S3.
 */
import assert from "node:assert/strict";
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { generateCommand, runPrefix } from "../src/generator/mod.ts";
import { parseGenerateArgs } from "../src/generator/cli.ts";
import { createKafkaClient, topicEnds } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { createS3 } from "../src/s3/mod.ts";
import { testConfig, uniqueName } from "./_support.ts";

Deno.test("generate: CSVs + manifest to S3 and --out, stream to Kafka; --dry-run gives the same manifest", async () => {
  const config = testConfig();
  const ctx = { config, log: createLogger("test") };
  const topic = uniqueName("gen_cli");
  const dir = await Deno.makeTempDir({ prefix: "nexus_gen_" });
  const seed = String(Date.now() % 1_000_000); // fresh S3 prefix per run
  const common = ["--seed", seed, "--events", "3000", "--users", "120", "--products", "30"];
  const s3 = createS3(config);
  const kafka = createKafkaClient(config, { clientSuffix: "gen-cli-test" });
  const prefix = runPrefix(parseGenerateArgs(common).params, 360);
  try {
    const code = await generateCommand.run(
      [
        ...common,
        "--topic",
        topic,
        "--partitions",
        "2",
        "--manifest",
        `${dir}/a.json`,
        "--out",
        `${dir}/csv`,
      ],
      ctx,
    );
    assert.equal(code, 0);
    assert.equal(
      await generateCommand.run([...common, "--dry-run", "--manifest", `${dir}/b.json`], ctx),
      0,
    );
    const a = await Deno.readTextFile(`${dir}/a.json`);
    assert.equal(a, await Deno.readTextFile(`${dir}/b.json`));
    const manifest = JSON.parse(a);
    const offs = await topicEnds(kafka, topic);
    assert.equal([...offs.values()].reduce((x, y) => x + y, 0n), BigInt(manifest.records));

    const get = async (key: string) => {
      const r = await s3.send(new GetObjectCommand({ Bucket: config.rawBucket, Key: key }));
      return await r.Body!.transformToString();
    };
    assert.equal(await get(`${prefix}/manifest.json`), a);
    for (const f of ["users.csv", "products.csv", "orders.csv"]) {
      assert.equal(await get(`${prefix}/${f}`), await Deno.readTextFile(`${dir}/csv/${f}`), f);
    }
    assert.equal(
      await generateCommand.run(["--late-fraction", "7"], ctx),
      2,
      "usage error exits 2",
    );
  } finally {
    for (const f of ["users.csv", "products.csv", "orders.csv", "manifest.json"]) {
      await s3.send(new DeleteObjectCommand({ Bucket: config.rawBucket, Key: `${prefix}/${f}` }))
        .catch(() => {});
    }
    s3.destroy();
    const admin = kafka.admin();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.close();
    await Deno.remove(dir, { recursive: true });
  }
});
