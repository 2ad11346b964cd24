/**
 * baton: Kafka consumer groups with safe partition hand-off.
 *
 * The package root is what an application programs against: `baton()`, its options, handlers and
 * middleware, errors and events. The layers under it have their own entry points: `baton/client`
 * (producer, consumer, admin), `baton/broker` (the embedded broker), `baton/protocol` (the wire
 * codec) and `baton/testing` (fakes and an embedded-broker fixture for an application's tests).
 */
export {
  baton,
  BatonApp,
  EXIT_CODES,
  compose,
  retry,
  backoffMs,
  DEFAULT_RETRY,
  deadLetter,
  DLT_HEADERS,
  CHANNELS,
  silentLogger,
  ConfigError,
  StaleGenerationError,
  NonRetriableError,
  DeserializationError,
  ProcessingAbortedError,
  OffsetTrackingError,
  AppStateError,
  type AbortReasonCode,
  type BatonAppOptions,
  type RunResult,
  type StopReason,
  type BatonOptions,
  type ConsumeOptions,
  type BatchConsumeOptions,
  type RetryConfig,
  type ConsumedRecord,
  type Context,
  type RecordHandler,
  type BatchHandler,
  type Middleware,
  type Step,
  type Work,
  type Health,
  type TopicPartition,
  type RecordHeader,
  type RetryOptions,
  type DeadLetterOptions,
  type AssignedEvent,
  type RevokingEvent,
  type RevokedEvent,
  type LostEvent,
  type CommittedEvent,
  type RecordFailedEvent,
  type DeadLetteredEvent,
  type Logger,
  type KafkaClientOptions,
} from './processing/index.js'
export { BatonError, DecodeError, EncodeError } from './protocol/errors/base.js'
export { KafkaError, KafkaErrorCode, isKafkaError, type KafkaErrorName } from './protocol/errors/kafka-errors.js'
