/**
 * Errors the embedded broker throws at its programmatic API (options, storage, test controls).
 * Errors a Kafka client causes never surface here: they go back to it as Kafka error codes.
 */
import { BatonError } from '../protocol/errors/base.js'

export type BrokerErrorCode =
  | 'BROKER_INVALID_OPTION'
  | 'BROKER_STORAGE'
  | 'BROKER_UNKNOWN_NODE'
  | 'BROKER_UNKNOWN_PARTITION'
  | 'BROKER_TOPIC'
  | 'BROKER_STOPPED'

export class BrokerError extends BatonError {
  declare readonly code: BrokerErrorCode

  constructor(code: BrokerErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}
