/**
 * The transaction coordinator's settings, named after the Kafka broker configs they mirror, with
 * Kafka's defaults.
 */
import { BrokerError } from '../errors.js'
import { systemScheduler, type Scheduler } from '../groups/scheduler.js'

export interface TransactionCoordinatorOptions {
  /** transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for (Kafka: 900000). */
  maxTimeoutMs?: number
  /** transaction.state.log.num.partitions: the hash space coordinators are chosen from (Kafka: 50). */
  stateTopicPartitions?: number
  /** Clock and timers; tests pass a ManualScheduler to drive transaction timeouts. */
  scheduler?: Scheduler
}

export interface TransactionCoordinatorConfig {
  readonly maxTimeoutMs: number
  readonly stateTopicPartitions: number
  readonly scheduler: Scheduler
}

function integer(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isInteger(value) || value < 1) throw new BrokerError('BROKER_INVALID_OPTION', `transactions.${name} must be an integer >= 1, got ${value}`)
  return value
}

export function resolveTransactionOptions(options: TransactionCoordinatorOptions = {}): TransactionCoordinatorConfig {
  return {
    maxTimeoutMs: integer('maxTimeoutMs', options.maxTimeoutMs, 900_000),
    stateTopicPartitions: integer('stateTopicPartitions', options.stateTopicPartitions, 50),
    scheduler: options.scheduler ?? systemScheduler,
  }
}
