/**
 * baton's processing framework: what users program against. See `app.ts` for an example.
 */
export { baton, BatonApp, EXIT_CODES, type BatonAppOptions, type RunResult, type StopReason } from './app.js'
export type { BatonOptions, ConsumeOptions, BatchConsumeOptions, RetryConfig } from './config.js'
export type { ConsumedRecord, Context, RecordHandler, BatchHandler, Middleware, Step, Work } from './handler.js'
export { compose } from './handler.js'
export type { Health } from './processor.js'
export { SIGNAL_REPEAT_WINDOW_MS } from './app.js'
export type {
  ConsumerPort,
  ConsumerEvents,
  RebalanceListener,
  AssignedPartition,
  FetchedBatch,
  FetchedRecord,
  RecordHeader,
  TopicPartition,
  OffsetToCommit,
  ProducerPort,
  ProducedRecord,
} from './consumer-port.js'
export {
  ConfigError,
  StaleGenerationError,
  NonRetriableError,
  DeserializationError,
  ProcessingAbortedError,
  OffsetTrackingError,
  AppStateError,
  BrokersUnreachableError,
  type AbortReasonCode,
} from './errors.js'
export { retry, backoffMs, DEFAULT_RETRY, type RetryOptions } from './retry.js'
export { deadLetter, DLT_HEADERS, type DeadLetterOptions } from './dead-letter.js'
export { OffsetTracker } from './offset-tracker.js'
export {
  CHANNELS,
  type AssignedEvent,
  type RevokingEvent,
  type RevokedEvent,
  type LostEvent,
  type CommittedEvent,
  type RecordFailedEvent,
  type DeadLetteredEvent,
} from './instrumentation.js'
export { silentLogger, type Logger } from './logger.js'
export { GroupConsumerPort, ClientProducerPort, type KafkaClientOptions } from './adapters/index.js'
