/**
 * What an application programs against: `baton()`, its options, handlers and middleware, errors,
 * events and the logger. The package root exports exactly this; `index.ts` adds the ports for the
 * lab and `baton/testing`.
 */
export { baton, BatonApp, EXIT_CODES, SIGNAL_REPEAT_WINDOW_MS, type BatonAppOptions, type RunResult, type StopReason } from './app.js'
export type { BatonOptions, ConsumeOptions, BatchConsumeOptions, RetryConfig, DeliveryOption, StoreOptions } from './config.js'
export type { TransactionsOptions } from './delivery/transactional-config.js'
export { pgliteDatabase, type PGliteLike, type PGliteQueryable } from './store/pglite.js'
export { postgresDatabase, type PgPoolLike, type PgClientLike } from './store/postgres.js'
export type { SqlDatabase, SqlTransaction, SqlResult, SqlRow } from './store/sql.js'
export { StoreFencedError, StoreModeRequiredError, StoreTransactionError } from './store/errors.js'
export type { ConsumedRecord, Context, RecordHandler, BatchHandler, Middleware, Step, Work } from './handler.js'
export { compose } from './handler.js'
export type { Health } from './processor.js'
export type { RecordHeader, SeekOffset, TopicPartition } from './consumer-port.js'
export {
  ConfigError,
  StaleGenerationError,
  NonRetriableError,
  DeserializationError,
  ProcessingAbortedError,
  OffsetTrackingError,
  AppStateError,
  BrokersUnreachableError,
  PartitionNotOwnedError,
  type AbortReasonCode,
} from './errors.js'
export { retry, backoffMs, DEFAULT_RETRY, type RetryOptions } from './retry.js'
export { deadLetter, DLT_HEADERS, type DeadLetterOptions } from './dead-letter.js'
export {
  CHANNELS,
  type AssignedEvent,
  type RevokingEvent,
  type RevokedEvent,
  type LostEvent,
  type CommittedEvent,
  type RecordFailedEvent,
  type DeadLetteredEvent,
  type TransactionEvent,
} from './instrumentation.js'
export { silentLogger, type Logger } from './logger.js'
export type { KafkaClientOptions } from './adapters/index.js'
