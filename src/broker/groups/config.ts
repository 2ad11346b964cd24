/**
 * The coordinator's settings, named after the Kafka broker configs they mirror, with Kafka's
 * defaults except where a development broker is better served otherwise (said at the field).
 */
import { BrokerError } from '../errors.js'
import { systemScheduler, type Scheduler } from './scheduler.js'

export interface GroupCoordinatorOptions {
  /**
   * group.initial.rebalance.delay.ms: how long the first rebalance of an empty group waits for more
   * members, extended by this much (up to the rebalance timeout) each time another one joins.
   * Kafka's default is 3000; tests want 0.
   */
  initialRebalanceDelayMs?: number
  /** group.min.session.timeout.ms (Kafka: 6000). */
  minSessionTimeoutMs?: number
  /** group.max.session.timeout.ms (Kafka: 1800000). */
  maxSessionTimeoutMs?: number
  /** group.max.size (Kafka: unlimited). */
  maxGroupSize?: number
  /** How long a member that has never completed a join may wait in JoinGroup (KIP-394; Kafka: 5 min). */
  newMemberJoinTimeoutMs?: number
  /** offset.metadata.max.bytes (Kafka: 4096). */
  offsetMetadataMaxBytes?: number
  /** offsets.topic.num.partitions: the hash space coordinators are chosen from (Kafka: 50). */
  offsetsTopicPartitions?: number
  /** group.consumer.session.timeout.ms: how long a KIP-848 member may go without a heartbeat (Kafka: 45000). */
  consumerSessionTimeoutMs?: number
  /** group.consumer.heartbeat.interval.ms: the interval KIP-848 members are told to heartbeat at (Kafka: 5000). */
  consumerHeartbeatIntervalMs?: number
  /** Clock and timers; tests pass a ManualScheduler. */
  scheduler?: Scheduler
}

export interface GroupCoordinatorConfig {
  readonly initialRebalanceDelayMs: number
  readonly minSessionTimeoutMs: number
  readonly maxSessionTimeoutMs: number
  readonly maxGroupSize: number
  readonly newMemberJoinTimeoutMs: number
  readonly offsetMetadataMaxBytes: number
  readonly offsetsTopicPartitions: number
  readonly consumerSessionTimeoutMs: number
  readonly consumerHeartbeatIntervalMs: number
  readonly scheduler: Scheduler
}

function integer(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback
  if (!(Number.isInteger(value) || value === Infinity) || value < min) {
    throw new BrokerError('BROKER_INVALID_OPTION', `groups.${name} must be an integer >= ${min}, got ${value}`)
  }
  return value
}

export function resolveGroupOptions(options: GroupCoordinatorOptions = {}): GroupCoordinatorConfig {
  const minSessionTimeoutMs = integer('minSessionTimeoutMs', options.minSessionTimeoutMs, 6000, 0)
  const maxSessionTimeoutMs = integer('maxSessionTimeoutMs', options.maxSessionTimeoutMs, 1_800_000, 0)
  if (maxSessionTimeoutMs < minSessionTimeoutMs) {
    throw new BrokerError('BROKER_INVALID_OPTION', `groups.maxSessionTimeoutMs (${maxSessionTimeoutMs}) is below groups.minSessionTimeoutMs (${minSessionTimeoutMs})`)
  }
  const consumerSessionTimeoutMs = integer('consumerSessionTimeoutMs', options.consumerSessionTimeoutMs, 45_000, 1)
  const consumerHeartbeatIntervalMs = integer('consumerHeartbeatIntervalMs', options.consumerHeartbeatIntervalMs, 5000, 1)
  if (consumerHeartbeatIntervalMs >= consumerSessionTimeoutMs) {
    throw new BrokerError(
      'BROKER_INVALID_OPTION',
      `groups.consumerHeartbeatIntervalMs (${consumerHeartbeatIntervalMs}) must be below groups.consumerSessionTimeoutMs (${consumerSessionTimeoutMs}); a third of it is usual`,
    )
  }
  return {
    consumerSessionTimeoutMs,
    consumerHeartbeatIntervalMs,
    initialRebalanceDelayMs: integer('initialRebalanceDelayMs', options.initialRebalanceDelayMs, 3000, 0),
    minSessionTimeoutMs,
    maxSessionTimeoutMs,
    maxGroupSize: integer('maxGroupSize', options.maxGroupSize, Infinity, 1),
    newMemberJoinTimeoutMs: integer('newMemberJoinTimeoutMs', options.newMemberJoinTimeoutMs, 300_000, 0),
    offsetMetadataMaxBytes: integer('offsetMetadataMaxBytes', options.offsetMetadataMaxBytes, 4096, 0),
    offsetsTopicPartitions: integer('offsetsTopicPartitions', options.offsetsTopicPartitions, 50, 1),
    scheduler: options.scheduler ?? systemScheduler,
  }
}
