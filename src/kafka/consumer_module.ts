/**
 * A consuming module (aggregator, archiver) as `main.ts` runs it: its consumer group on the
 * click topic, the partition consumer core driving its handlers, and the `RunningModule`
 * contract (done, stop, status) around them. The modules supply only their handlers, their
 * shared state and how to release their own resources.
 *
 * @module
 */
import type { ModuleName } from "../config/mod.ts";
import type { ModuleContext, ModuleStatus, RunningModule } from "../runtime/module.ts";
import { createKafkaClient } from "./client.ts";
import {
  type PartitionContext,
  type PartitionHandler,
  type PartitionProgress,
  startPartitionConsumer,
} from "./partition_consumer.ts";
import type { Admin, KafkaClient } from "./port.ts";

/** What a consuming module brings: its handlers, state, status and resources. */
export interface ConsumerModuleParts {
  /** The consumer group. */
  group: string;
  handler(partition: number, ctx: PartitionContext): PartitionHandler;
  /** Period of the handlers' `tick`, ms. */
  tickMs: number;
  /** Period of the end-offset reads, ms. Default 5000. */
  offsetsEveryMs?: number;
  /** Releases the module's own resources after the core stopped or failed. */
  release(): Promise<void>;
  /** The module's status from its own state and the core's per-partition progress. */
  status(progress: PartitionProgress[]): ModuleStatus;
  /** Extra fields of the "started" log line. */
  started?: Record<string, unknown>;
  /** Extra fields of the "stopped" log line (read when it stops). */
  stopped?: () => Record<string, unknown>;
}

/** Options of `startConsumerModule`. */
export interface ConsumerModuleOptions {
  name: ModuleName;
  /** Kafka client (default: `NEXUS_KAFKA_CLIENT` from config, client id suffix `name`). */
  kafka?: KafkaClient;
  /**
   * Builds the module's parts with the module's Kafka client and an admin (end offsets,
   * topic metadata; closed by the module). A throw releases the admin and fails the start.
   */
  prepare(kafka: KafkaClient, admin: Admin): Promise<ConsumerModuleParts>;
}

/**
 * Prepares the module, joins its group and starts consuming `config.clickTopic`; resolves to
 * the running module once joined. On a failure to start, everything is released before the
 * error is thrown.
 */
export async function startConsumerModule(
  { config, log }: ModuleContext,
  o: ConsumerModuleOptions,
): Promise<RunningModule> {
  const topic = config.clickTopic;
  const kafka = o.kafka ?? createKafkaClient(config, { clientSuffix: o.name });
  const admin = kafka.admin();
  let parts: ConsumerModuleParts;
  try {
    parts = await o.prepare(kafka, admin);
  } catch (e) {
    await admin.close();
    throw e;
  }
  const release = async () => {
    await admin.close();
    await parts.release();
  };
  let core;
  try {
    core = await startPartitionConsumer({
      topic,
      consumer: kafka.groupConsumer({
        topic,
        group: parts.group,
        instanceId: config.instanceId,
        sessionTimeoutMs: config.kafkaSessionTimeoutMs,
        maxBytesPerPartition: config.kafkaFetchPartitionBytes,
        maxBytes: config.kafkaFetchMaxBytes,
      }),
      handler: parts.handler,
      endOffsets: () => admin.offsets(topic),
      offsetsEveryMs: parts.offsetsEveryMs,
      log,
      tickMs: parts.tickMs,
      faultExitMs: config.faultExitMs,
      // leave a second of the process's shutdown budget for what runs after the modules
      shutdownTimeoutMs: Math.max(100, config.shutdownTimeoutMs - 1000),
    });
  } catch (e) {
    await release();
    throw e;
  }
  log.info(`${o.name} started`, {
    topic,
    group: parts.group,
    client: kafka.library,
    instance_id: config.instanceId,
    ...parts.started,
  });
  const running = core;
  let stopped: Promise<void> | undefined;
  const done = running.done.catch(async (e) => {
    await release();
    throw e;
  });
  done.catch(() => {});
  return {
    name: o.name,
    done,
    stop: () => {
      stopped ??= (async () => {
        await running.stop();
        await release();
        log.info(`${o.name} stopped`, parts.stopped?.());
      })();
      return stopped;
    },
    status: () => {
      const progress = running.progress();
      const status = parts.status(progress);
      const faults = progress.filter((p) => p.fault).map((p) => ({
        partition: p.partition,
        ...p.fault!,
      }));
      return faults.length ? { ...status, faults } : status;
    },
  };
}
