/**
 * Postgres side of the aggregator: claiming a partition (fencing epoch), and writing one
 * partition's flush — absolute partial aggregates, late events, dead-letter counters and the
 * checkpoint — in ONE transaction guarded by a compare-and-set on the checkpoint.
 *
 * @module
 */
import {
  classifyPostgresError,
  savepoint,
  type Sql,
  transaction,
  type TransactionSql as Tx,
} from "../postgres/mod.ts";
import { ACTIONS } from "../events/mod.ts";
import { reasonOf } from "../runtime/errors.ts";
import type { Checkpoint, FlushPlan, LateRecord } from "./partials.ts";
import type { PartitionTime } from "./watermark.ts";

/** The `processor` value of the aggregator's rows in `consumer_checkpoints`. */
export const PROCESSOR = "aggregator";

/** The checkpoint moved under us: another owner claimed the partition (we are a zombie). */
export class FencedError extends Error {
  constructor(topic: string, partition: number, epoch: number, prevNext: bigint) {
    super(
      `partition ${topic}/${partition} was claimed by another consumer (our epoch ${epoch}, expected next_offset ${prevNext})`,
    );
    this.name = "FencedError";
  }
}

/**
 * PostgreSQL refused to store some late events (their values: a NUL character, a lone
 * surrogate): the flush was rolled back; `offsets` maps each refused record to the reason.
 */
export class UnstorableRecords extends Error {
  readonly offsets: Map<bigint, string>;
  constructor(offsets: Map<bigint, string>) {
    super(`PostgreSQL refused ${offsets.size} late event(s): ${[...offsets.values()][0]}`);
    this.name = "UnstorableRecords";
    this.offsets = offsets;
  }
}

const iso = (ms: number | null): string | null => ms === null ? null : new Date(ms).toISOString();

async function insertLate(tx: Tx, topic: string, partition: number, l: LateRecord[]) {
  await tx`
    insert into late_events
      (topic, event_id, partition, "offset", window_start, window_end, action,
       revenue_cents, watermark, lateness_ms, event)
    select ${topic}, s.event_id, ${partition}, s.off, s.ws, s.ws + interval '1 minute',
           s.action, s.rev, s.wm, s.lat, s.ev::jsonb
      from unnest(${tx.array(l.map((x) => x.eventId))}::text[],
                  ${tx.array(l.map((x) => String(x.offset)))}::bigint[],
                  ${tx.array(l.map((x) => iso(x.windowStart)!))}::timestamptz[],
                  ${tx.array(l.map((x) => x.action))}::text[],
                  ${tx.array(l.map((x) => String(x.revenueCents)))}::bigint[],
                  ${tx.array(l.map((x) => iso(x.watermark)!))}::timestamptz[],
                  ${tx.array(l.map((x) => String(x.latenessMs)))}::bigint[],
                  ${tx.array(l.map((x) => x.eventJson))}::text[])
        as s(event_id, off, ws, action, rev, wm, lat, ev)
    on conflict (topic, event_id) do nothing`;
}

/**
 * Writes the late events inside a savepoint. When PostgreSQL refuses their values, writes
 * them one savepoint each to find which, and throws `UnstorableRecords` naming them: one
 * hostile record never blocks its neighbours, and its reason is the database's own.
 */
async function writeLate(tx: Tx, topic: string, partition: number, late: LateRecord[]) {
  try {
    await savepoint(tx, (sp) => insertLate(sp, topic, partition, late));
    return;
  } catch (e) {
    if (classifyPostgresError(e) !== "data") throw e;
  }
  const refused = new Map<bigint, string>();
  for (const l of late) {
    try {
      await savepoint(tx, (sp) => insertLate(sp, topic, partition, [l]));
    } catch (e) {
      if (classifyPostgresError(e) !== "data") throw e;
      refused.set(l.offset, `PostgreSQL refused the event: ${reasonOf(e)}`);
    }
  }
  if (refused.size > 0) throw new UnstorableRecords(refused);
}

/**
 * Claims a partition: creates its checkpoint row or bumps its owner epoch, atomically, and
 * returns the stored progress. Any later write by a previous owner fails its CAS.
 */
export async function claimPartition(
  sql: Sql,
  topic: string,
  partition: number,
  processor = PROCESSOR,
): Promise<Checkpoint> {
  const rows = await sql<
    { next_offset: string; replay_offset: string; watermark: Date | null; owner_epoch: string }[]
  >`
    insert into consumer_checkpoints
      (processor, topic, partition, next_offset, replay_offset, watermark, owner_epoch)
    values (${processor}, ${topic}, ${partition}, 0, 0, null, 1)
    on conflict (processor, topic, partition) do update
      set owner_epoch = consumer_checkpoints.owner_epoch + 1, updated_at = now()
    returning next_offset, replay_offset, watermark, owner_epoch`;
  const r = rows[0]!;
  return {
    nextOffset: BigInt(r.next_offset),
    replayOffset: BigInt(r.replay_offset),
    watermark: r.watermark === null ? null : r.watermark.getTime(),
    epoch: Number(r.owner_epoch),
  };
}

/** Records how many partitions the topic has (the finality view needs every partition). */
export async function registerTopic(sql: Sql, topic: string, partitions: number): Promise<void> {
  await sql`
    insert into aggregator_topics (topic, partitions) values (${topic}, ${partitions})
    on conflict (topic) do update set partitions = excluded.partitions, updated_at = now()`;
}

/** Options of `writeFlush`. */
export interface WriteOptions {
  processor?: string;
}

/**
 * Writes one partition's flush in one transaction. The checkpoint update runs first: it
 * takes the row lock (serialising against a concurrent claim) and checks the owner epoch and
 * the previous next_offset; zero rows means we were fenced and nothing is written.
 *
 * @throws {FencedError} when the compare-and-set fails.
 * @throws {UnstorableRecords} when PostgreSQL refuses some late events' values.
 */
export async function writeFlush(
  sql: Sql,
  plan: FlushPlan,
  opts: WriteOptions = {},
): Promise<void> {
  const processor = opts.processor ?? PROCESSOR;
  const { topic, partition } = plan;
  await transaction(sql, async (tx) => {
    const cas = await tx`
      update consumer_checkpoints
         set next_offset = ${String(plan.nextOffset)}::bigint,
             replay_offset = ${String(plan.replayOffset)}::bigint,
             watermark = ${iso(plan.watermark)}::timestamptz,
             idle = ${plan.idle},
             live = ${plan.live},
             updated_at = now()
       where processor = ${processor} and topic = ${topic} and partition = ${partition}
         and owner_epoch = ${String(plan.epoch)}::bigint
         and next_offset = ${String(plan.prevNextOffset)}::bigint
      returning 1`;
    if (cas.length === 0) {
      throw new FencedError(topic, partition, plan.epoch, plan.prevNextOffset);
    }
    const ws: string[] = [];
    const act: string[] = [];
    const cnt: string[] = [];
    const rev: string[] = [];
    for (const p of plan.partials) {
      p.counts.forEach((c, i) => {
        if (c === 0) return;
        const action = ACTIONS[i]!;
        ws.push(iso(p.windowStart)!);
        act.push(action);
        cnt.push(String(c));
        rev.push(String(action === "purchase" ? p.revenueCents : 0));
      });
    }
    if (ws.length > 0) {
      // Rows of (topic, partition) are written only by the partition's owner, serialised by
      // the checkpoint row lock taken above, so MERGE never races a concurrent insert.
      await tx`
        merge into window_partials t
        using (
          select * from unnest(${tx.array(ws)}::timestamptz[], ${tx.array(act)}::text[],
                               ${tx.array(cnt)}::bigint[], ${tx.array(rev)}::numeric[])
            as s(window_start, action, event_count, revenue_cents)
        ) s
        on t.topic = ${topic} and t.partition = ${partition}
           and t.window_start = s.window_start and t.action = s.action
        when matched then update
          set event_count = s.event_count, revenue_cents = s.revenue_cents, updated_at = now()
        when not matched then insert
          (topic, partition, window_start, action, event_count, revenue_cents)
          values (${topic}, ${partition}, s.window_start, s.action, s.event_count,
                  s.revenue_cents)`;
    }
    if (plan.late.length > 0) await writeLate(tx, topic, partition, plan.late);
    if (plan.dead.length > 0) {
      const byReason = new Map<string, number>();
      for (const d of plan.dead) byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
      const reasons = [...byReason.keys()];
      await tx`
        insert into aggregator_dead_letters (topic, partition, reason, records)
        select ${topic}, ${partition}, s.reason, s.n
          from unnest(${tx.array(reasons)}::text[],
                      ${tx.array(reasons.map((r) => String(byReason.get(r))))}::bigint[])
            as s(reason, n)
        on conflict (topic, partition, reason) do update
          set records = aggregator_dead_letters.records + excluded.records, updated_at = now()`;
    }
  });
}

/**
 * Every partition's stored event-time state of `topic` (watermark, idle, live) and the
 * topic's partition count: the inputs of the topic-wide rules in `watermark.ts`.
 */
export async function topicTimes(
  sql: Sql,
  topic: string,
  processor = PROCESSOR,
): Promise<{ partitions: number; views: PartitionTime[] }> {
  const [rows, topics] = await Promise.all([
    sql<{ partition: number; watermark: Date | null; idle: boolean; live: boolean }[]>`
      select partition, watermark, idle, live from consumer_checkpoints
       where processor = ${processor} and topic = ${topic}`,
    sql<{ partitions: number }[]>`select partitions from aggregator_topics where topic = ${topic}`,
  ]);
  return {
    partitions: topics[0]?.partitions ?? rows.length,
    views: rows.map((r) => ({
      partition: r.partition,
      watermark: r.watermark === null ? null : r.watermark.getTime(),
      idle: r.idle,
      live: r.live,
    })),
  };
}
