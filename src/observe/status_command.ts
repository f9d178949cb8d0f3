/**
 * `nexus status`: per consumer group (aggregator, archiver) and partition, the committed
 * offset, the end offset and the lag; for the aggregator also the offset and watermark it
 * stored in Postgres, for the archiver the last archived offset (from the archive's keys).
 *
 * @module
 */
import { defineCommand } from "../cli/options.ts";
import { statusSpec } from "../cli/specs.ts";
import type { Config } from "../config/mod.ts";
import { createKafkaClient } from "../kafka/mod.ts";
import { createSql, postgresError } from "../postgres/mod.ts";
import { reasonOf, ServiceError } from "../runtime/errors.ts";
import type { Command } from "../runtime/module.ts";
import { createS3 } from "../s3/mod.ts";
import { archivedOffsets, collectLag, lagTargets, type PartitionLag } from "./lag.ts";

/** The report `status` prints. */
export interface StatusReport {
  topic: string;
  partitions: PartitionLag[];
  /** Sources that could not be read (the rest is still shown). */
  warnings: string[];
}

/** Gathers the report (Kafka required; Postgres and S3 best effort, with warnings). */
export async function gatherStatus(config: Config): Promise<StatusReport> {
  const warnings: string[] = [];
  const admin = createKafkaClient(config, {
    clientSuffix: "status",
    connectTimeoutMs: 3000,
    requestTimeoutMs: 10_000,
  }).admin();
  const sql = createSql(config, { max: 1, connectTimeout: 5 });
  const s3 = createS3(config, { maxAttempts: 2 });
  try {
    let topics: string[];
    try {
      topics = await admin.listTopics();
    } catch (e) {
      throw new ServiceError(
        `Cannot connect to Kafka: KAFKA_BROKERS is "${config.kafkaBrokers.join(",")}": ${
          reasonOf(e)
        }. Fix: start the broker (deno task stack up) or correct KAFKA_BROKERS.`,
        { setting: "KAFKA_BROKERS", retriable: true, cause: e },
      );
    }
    if (!topics.includes(config.clickTopic)) {
      throw new ServiceError(
        `Cannot report status: topic "${config.clickTopic}" does not exist. Fix: set NEXUS_CLICK_TOPIC to the pipeline's topic.`,
        { setting: "NEXUS_CLICK_TOPIC", retriable: false },
      );
    }
    let sqlOk = true;
    try {
      await sql`select 1 from consumer_checkpoints limit 1`;
    } catch (e) {
      sqlOk = false;
      const code = (e as { code?: string }).code;
      warnings.push(
        code === "42P01"
          ? "Postgres: consumer_checkpoints missing (run nexus migrate); stored offsets not shown"
          : `Postgres: ${postgresError(e, config).message}`,
      );
    }
    const partitions = await collectLag(lagTargets(config), {
      admin,
      sql: sqlOk ? sql : undefined,
      archived: (topic) =>
        archivedOffsets(s3, config.archiveBucket, topic).catch((e) => {
          warnings.push(`S3: cannot list the archive in "${config.archiveBucket}": ${reasonOf(e)}`);
          throw e;
        }),
    });
    return { topic: config.clickTopic, partitions, warnings };
  } finally {
    await admin.close();
    await sql.end({ timeout: 1 }).catch(() => {});
    s3.destroy();
  }
}

const num = (n: number | null) => (n === null ? "-" : String(n));

/** Renders the report as a plain table (pure). */
export function formatStatus(r: StatusReport): string {
  const head = [
    "module",
    "group",
    "partition",
    "committed",
    "end",
    "lag",
    "stored",
    "watermark",
    "archived",
  ];
  const rows = r.partitions.map((p) => [
    p.module,
    p.group,
    String(p.partition),
    num(p.committed),
    num(p.end),
    String(p.lag),
    num(p.stored),
    p.watermark ?? "-",
    num(p.archived),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 2 || i === 7 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join("  ").trimEnd();
  const totals = new Map<string, number>();
  for (const p of r.partitions) totals.set(p.group, (totals.get(p.group) ?? 0) + p.lag);
  return [
    `topic ${r.topic}`,
    line(head),
    ...rows.map(line),
    ...[...totals].map(([g, n]) => `total lag ${g}: ${n}`),
    ...r.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
}

/** `status`: consumer progress and lag. */
export const statusCommand: Command = defineCommand(statusSpec, async (flags, { config }) => {
  const report = await gatherStatus(config);
  console.log(flags.json ? JSON.stringify(report, null, 2) : formatStatus(report));
  return 0;
});
