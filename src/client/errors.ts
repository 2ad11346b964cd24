/**
 * Errors raised by the client itself (as opposed to `KafkaError`, which carries a broker's error
 * code). Branch on the class or on `code`.
 */
import { BatonError } from '../protocol/errors/base.js'

export { ConfigError } from '../protocol/errors/base.js'

/** The producer, consumer or admin client was closed, so the operation cannot run. */
export class ClientClosedError extends BatonError {
  constructor(what: string) {
    super('CLIENT_CLOSED', `${what} was closed; create a new one to continue`)
  }
}

/**
 * Refused by a group consumer crashed on purpose through `faults.crash` (a test or the lab killing
 * a member): a dead process sends nothing again, so this is not retriable.
 */
export class ConsumerCrashedError extends BatonError {
  readonly retriable = false

  constructor() {
    super('CLIENT_CONSUMER_CRASHED', 'this consumer was crashed on purpose (faults.crash); it sends nothing more')
  }
}

/** The producer's buffer stayed full for longer than it may wait (or it is set not to wait). */
export class BufferFullError extends BatonError {
  readonly retriable = true

  constructor(message: string) {
    super('PRODUCER_BUFFER_FULL', message)
  }
}

/** A record could not be delivered within deliveryTimeoutMs despite retries; `cause` holds the last failure. */
export class DeliveryTimeoutError extends BatonError {
  readonly topic: string
  readonly partition: number

  constructor(topic: string, partition: number, timeoutMs: number, cause: unknown) {
    super(
      'PRODUCER_DELIVERY_TIMEOUT',
      `records for topic ${JSON.stringify(topic)} partition ${partition} were not acknowledged within deliveryTimeoutMs (${timeoutMs} ms)` +
        (cause instanceof Error ? `; last failure: ${cause.message}` : '') +
        '. Check that the partition has a leader and the brokers are reachable, or raise deliveryTimeoutMs.',
      cause === undefined ? undefined : { cause },
    )
    this.topic = topic
    this.partition = partition
  }
}

/** A record or argument the client refuses before sending anything (too large, unknown partition). */
export class InvalidRecordError extends BatonError {
  constructor(message: string) {
    super('INVALID_RECORD', message)
  }
}

/** Metadata could not name what was asked for (a topic, a leader, a coordinator) in time. */
export class MetadataError extends BatonError {
  readonly retriable: boolean

  constructor(message: string, retriable: boolean, options?: ErrorOptions) {
    super('METADATA_UNAVAILABLE', message, options)
    this.retriable = retriable
  }
}

/**
 * The partition's log was truncated below the consumer's fetch position (KIP-320: its leader lost
 * records the consumer had already fetched, as after an unclean leader election), and
 * autoOffsetReset is 'none'. Records from `truncatedAt` on were replaced or lost.
 */
export class LogTruncationError extends BatonError {
  readonly topic: string
  readonly partition: number
  /** Where the consumer was fetching. */
  readonly fetchOffset: bigint
  /** The first offset the broker's log no longer agrees on: where to seek to read on. */
  readonly truncatedAt: bigint

  constructor(topic: string, partition: number, fetchOffset: bigint, truncatedAt: bigint) {
    super(
      'CONSUMER_LOG_TRUNCATED',
      `topic ${JSON.stringify(topic)} partition ${partition} was truncated at offset ${truncatedAt}, below the fetch offset ${fetchOffset} ` +
        `(its leader lost records already fetched); seek() to ${truncatedAt} to read what the log now holds there, ` +
        "or set autoOffsetReset to 'earliest' or 'latest' to have the consumer do so",
    )
    this.topic = topic
    this.partition = partition
    this.fetchOffset = fetchOffset
    this.truncatedAt = truncatedAt
  }
}

/** The consumer reached an offset outside the log and its autoOffsetReset is 'none'. */
export class OffsetOutOfRangeError extends BatonError {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint

  constructor(topic: string, partition: number, offset: bigint) {
    super(
      'CONSUMER_OFFSET_OUT_OF_RANGE',
      `offset ${offset} of topic ${JSON.stringify(topic)} partition ${partition} is outside the log and autoOffsetReset is 'none'; ` +
        "seek() to a valid offset, or set autoOffsetReset to 'earliest' or 'latest'",
    )
    this.topic = topic
    this.partition = partition
    this.offset = offset
  }
}
