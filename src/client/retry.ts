/**
 * Retrying a request until it succeeds, fails with an error that retrying cannot fix, or runs out
 * of time. What counts as retriable is decided by the error's own flag (Kafka's classification for
 * broker errors, the connection layer's for network errors), never by its message.
 */
import { backoffDelay } from '../net/backoff.js'

export { backoffDelay }
import { NetworkError } from '../net/errors.js'
import { KafkaError } from '../protocol/errors/kafka-errors.js'
import { MetadataError } from './errors.js'

export function isRetriableError(error: unknown): boolean {
  if (error instanceof KafkaError || error instanceof NetworkError || error instanceof MetadataError) return error.retriable
  return false
}

export interface RetryOptions {
  /** Absolute time (Date.now()) after which the last error is thrown instead of retried. */
  deadline: number
  backoffMs: number
  backoffMaxMs: number
  /** Called before each retry, e.g. to refresh metadata. */
  onRetry?: (error: unknown, attempt: number) => void | Promise<void>
  /** Stops retrying at once (the client is closing). */
  stopped?: () => boolean
  retriable?: (error: unknown) => boolean
}

export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retriable = options.retriable ?? isRetriableError
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      const wait = backoffDelay(attempt, { initialMs: options.backoffMs, maxMs: options.backoffMaxMs })
      if (!retriable(error) || Date.now() + wait > options.deadline || options.stopped?.() === true) throw error
      await options.onRetry?.(error, attempt)
      await sleep(wait)
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
