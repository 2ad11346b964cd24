/**
 * Errors of the processing framework. Each has a stable `code`; branch on the class or the code,
 * never on the message text.
 */
import { BatonError } from '../client/index.js'

/** A `baton()` or `app.consume()` option is invalid (the same class the client throws for its options). */
export { ConfigError } from '../client/index.js'

/** `app.seek` or `ctx.seek` of a partition this instance does not own now (the same class the client's `GroupConsumer` throws). */
export { PartitionNotOwnedError } from '../client/index.js'

/**
 * The consumer port rejected a commit because this member's generation is no longer current: the
 * group rebalanced (or is rebalancing) and the partitions may already belong to another member.
 * Adapters map Kafka's ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID and
 * REBALANCE_IN_PROGRESS commit errors to this class.
 */
export class StaleGenerationError extends BatonError {
  readonly generation: number | undefined

  constructor(message: string, generation?: number, options?: ErrorOptions) {
    super('PROCESSING_STALE_GENERATION', message, options)
    this.generation = generation
  }
}

/**
 * The broker refused a commit because its metadata is longer than the broker's
 * `offset.metadata.max.bytes` (Kafka's default is 4096; baton's metadata stays under 3072). Nothing
 * of the commit was stored. The processor commits again with less metadata; raising the broker's
 * setting keeps key mode's hand-off free of duplicates.
 */
export class CommitMetadataTooLargeError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('PROCESSING_COMMIT_METADATA_TOO_LARGE', message, options)
  }
}

/**
 * Throw this (or a subclass) from a handler for a failure that retrying cannot fix: the record goes
 * straight to the dead-letter topic.
 */
export class NonRetriableError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('PROCESSING_NON_RETRIABLE', message, options)
  }
}

/** A record's key or value could not be deserialized. Not retriable: the bytes will not change. */
export class DeserializationError extends NonRetriableError {
  readonly field: 'key' | 'value'

  constructor(field: 'key' | 'value', options?: ErrorOptions) {
    super(`the record's ${field} could not be deserialized`, options)
    this.field = field
  }
}

export type AbortReasonCode =
  | 'PROCESSING_DRAIN_TIMEOUT'
  | 'PROCESSING_PARTITION_LOST'
  | 'PROCESSING_FORCED_STOP'
  | 'PROCESSING_RETRY_ABANDONED'
  | 'PROCESSING_STORE_UNAVAILABLE'

/**
 * The reason given to a handler's `ctx.signal` when it is aborted, and the error of work given up on
 * because its partition is being revoked (`PROCESSING_RETRY_ABANDONED`: a failing record's next
 * attempt is left to the partition's next owner instead of running past the drain deadline). The
 * record is not marked done, so the next owner (or this member after a restart) processes it again.
 */
export class ProcessingAbortedError extends BatonError {
  declare readonly code: AbortReasonCode

  constructor(code: AbortReasonCode, message: string) {
    super(code, message)
  }
}

/**
 * A bookkeeping invariant was broken (a record marked done twice, offsets going backwards in one
 * fetch stream). This is a bug in baton or in a consumer adapter, not in user code.
 */
export class OffsetTrackingError extends BatonError {
  constructor(message: string) {
    super('PROCESSING_OFFSET_TRACKING', message)
  }
}

/** `app.run()` was called on an app that is already running or has stopped. */
export class AppStateError extends BatonError {
  constructor(message: string) {
    super('PROCESSING_APP_STATE', message)
  }
}

/**
 * The app could not reach the group coordinator for `unreachableTimeoutMs`: no broker answered, or
 * none could say which broker coordinates the group. `run()` rejects with it at start (and stops
 * with exit code 1 if it happens later), instead of waiting silently for brokers that may never come.
 */
export class BrokersUnreachableError extends BatonError {
  readonly unreachableMs: number

  constructor(unreachableMs: number, brokers: string, options?: ErrorOptions) {
    super(
      'PROCESSING_BROKERS_UNREACHABLE',
      `no answer from the group coordinator for ${unreachableMs} ms (brokers: ${brokers}); check that the brokers are up and that ` +
        'baton({ brokers }) names them as this host can reach them, or raise unreachableTimeoutMs to wait longer',
      options,
    )
    this.unreachableMs = unreachableMs
  }
}
