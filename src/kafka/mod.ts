/**
 * Kafka for the rest of Nexus: the port (types), the configured client, the start-up checks,
 * the key partitioner and the partition consumer core. The only module that imports a Kafka
 * client library.
 *
 * @module
 */
export * from "./port.ts";
export { type KafkaConnection, kafkaConnection, type SaslSettings } from "./connection.ts";
export {
  checkKafka,
  createKafkaClient,
  type KafkaCheckOptions,
  kafkaClientFor,
  type KafkaClientOptions,
} from "./client.ts";
export { keyPartitioner, murmur2, partitionOf } from "./partitioner.ts";
export {
  type PartitionConsumerOptions,
  type PartitionContext,
  type PartitionHandler,
  type PartitionProgress,
  type RunningPartitionConsumer,
  startPartitionConsumer,
} from "./partition_consumer.ts";
export { readTopic, topicEnds } from "./read.ts";
export { type ConsumerModuleOptions, startConsumerModule } from "./consumer_module.ts";
