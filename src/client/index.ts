/**
 * baton's Kafka client: a producer, a consumer of assigned partitions, and an admin client, over
 * connections that negotiate versions, authenticate (SASL PLAIN / SCRAM), pipeline requests and
 * reconnect. See README.md in this folder for examples.
 */
export {
  Producer,
  type ProducerConfig,
  type ProducerRecord,
  type Partitioner,
  type RecordMetadata,
  type Transaction,
  type TransactionOffset,
  type TransactionState,
  type ConsumerGroupMetadata,
} from './producer/producer.js'
export { ProducerFencedError, TransactionAbortableError, TransactionFatalError, TransactionStateError } from './producer/transaction-errors.js'
export { partitionForKey, murmur2 } from './producer/murmur2.js'
export {
  Consumer,
  type ConsumerBatch,
  type ConsumerConfig,
  type ConsumerRecord,
  type OffsetResetPolicy,
  type PartitionAssignment,
  type PauseOptions,
  type StartOffset,
  type TopicPartition,
} from './consumer/consumer.js'
export {
  GroupConsumer,
  AssignmentFailedError,
  PartitionNotOwnedError,
  type GroupConsumerBatch,
  type GroupConsumerConfig,
  type GroupConsumerFaults,
  type ClosableGroupTransport,
  type AssignorName,
  type CommitOffset,
  type CommittedOffset,
} from './consumer/group-consumer.js'
export {
  CommitFailedError,
  MembershipError,
  RebalanceHookError,
  RebalanceHookTimeoutError,
  GROUP_STATE_CHANNEL,
  type CommitFailedCode,
  type MembershipErrorCode,
  type GroupStateEvent,
  type MemberState,
  type RebalanceHook,
  type RebalanceHooks,
  type TopicPartitions,
  type PartitionAssignor,
  type AssignmentInput,
  type AssignorMemberState,
  type MemberAssignmentResult,
  type MemberSubscription,
  type RebalanceProtocol,
} from './membership/index.js'
export type { GroupProtocol, MembershipState } from './membership/group-membership.js'
export type { ServerAssignorName } from './membership/kip848/options.js'
export {
  Admin,
  type ConfigEntry,
  type ConfigResource,
  type ConsumerGroupDescription,
  type GroupDescription,
  type GroupListing,
  type GroupOffset,
  type NewTopic,
  type OffsetSpec,
  type PartitionOffset,
} from './admin/admin.js'
export { describeGroupLag, type ConsumerGroupView, type GroupMemberView, type PartitionLagView } from './admin/consumer-group-lag.js'
export { Cluster, type BrokerInfo, type CoordinatorType, type PartitionInfo, type TopicInfo } from './cluster.js'
export { sharedClientOptions, type ClientConfig } from './config.js'
export {
  BufferFullError,
  ClientClosedError,
  ConfigError,
  ConsumerCrashedError,
  DeliveryTimeoutError,
  InvalidRecordError,
  LogTruncationError,
  MetadataError,
  OffsetOutOfRangeError,
} from './errors.js'
export { NetworkError, SaslError, UnsupportedVersionError } from '../net/errors.js'
export { backoffDelay, type BackoffOptions } from '../net/backoff.js'
export { BatonError } from '../protocol/errors/base.js'
export { KafkaError, KafkaErrorCode, isKafkaError } from '../protocol/errors/kafka-errors.js'
export { REQUEST_CHANNEL, RESPONSE_CHANNEL, CONNECTION_CHANNEL, type RequestEvent, type ResponseEvent, type ConnectionEvent } from '../net/diagnostics.js'
export { silentLogger, errorLogger, type Logger } from '../net/logger.js'
export type { SaslOptions, SaslMechanismName } from '../net/sasl/index.js'
export type { CompressionCodec } from '../protocol/records/index.js'
export { partitionKey } from '../protocol/topic-partition.js'
/** How every constructor here refuses an unknown option key, naming the nearest known one; for options of your own too. */
export { refuseUnknownKeys } from './option-names.js'
/** Every option key a `GroupConsumer` accepts (the consumer's and the client's included). */
export { GROUP_CONSUMER_OPTION_NAMES } from './consumer/group-consumer-options.js'
