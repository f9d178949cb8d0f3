/**
 * The `generate` command end to end: CSVs and manifest in S3 and a local dir, the stream in
 * Kafka, and `--dry-run` reproducing the same manifest without Kafka or S3; and through
 * `main.ts`, the `--rate` setting capping the send rate.
 */
import assert from "node:assert/strict";
import { DeleteObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { generateCommand, runPrefix } from "../src/generator/mod.ts";
import { parseGenerateArgs } from "../src/generator/cli.ts";
import { createKafkaClient, topicEnds } from "../src/kafka/mod.ts";
import { createLogger } from "../src/log/logger.ts";
import { createS3 } from "../src/s3/mod.ts";
import { testConfig, testEnv, uniqueName } from "./_support.ts";

Deno.test("generate: CSVs + manifest to S3 and --out, stream to Kafka; --dry-run gives the same manifest", async () => {
  const config = { ...testConfig(), partitions: 2 }; // the --partitions setting
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
    assert.equal(offs.size, 2);
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

Deno.test("main.ts generate --rate 50: the setting reaches generate and caps the send rate", async () => {
  const config = testConfig();
  const topic = uniqueName("gen_rate");
  const seed = String((Date.now() + 1) % 1_000_000);
  const flags = ["--seed", seed, "--events", "100", "--users", "10", "--products", "5", "--no-csv"];
  const prefix = runPrefix(parseGenerateArgs(flags).params, 30);
  const kafka = createKafkaClient(config, { clientSuffix: "gen-rate-test" });
  const s3 = createS3(config);
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../main.ts", import.meta.url).pathname,
        "generate",
        ...flags,
        "--rate",
        "50",
        "--topic",
        topic,
        "--partitions",
        "1",
      ],
      env: { ...testEnv(), NEXUS_LOG_LEVEL: "warn" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const summary = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
    assert.equal(summary.rate, 50);
    // ~101 records at 50/s: about 2 s (the first batch goes at once); unthrottled it is ~0.1 s
    assert.ok(summary.seconds >= 1.5, `sent in ${summary.seconds} s: not throttled`);
    assert.ok(summary.records_per_second <= 55, `${summary.records_per_second} records/s`);
    const ends = await topicEnds(kafka, topic);
    assert.equal(ends.size, 1, "--partitions 1 (the setting) created the topic");
    assert.equal([...ends.values()].reduce((x, y) => x + y, 0n), BigInt(summary.records));
  } finally {
    await s3.send(
      new DeleteObjectCommand({ Bucket: config.rawBucket, Key: `${prefix}/manifest.json` }),
    )
      .catch(() => {});
    s3.destroy();
    const admin = kafka.admin();
    await admin.deleteTopics([topic]).catch(() => {});
    await admin.close();
  }
});
