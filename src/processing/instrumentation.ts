/**
 * Events on `node:diagnostics_channel` and prom-client metrics, fed from one place.
 *
 * Publishers check `hasSubscribers` first, so an event nobody listens to costs a property read.
 *
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * import { CHANNELS, type RevokedEvent } from 'baton'
 * diagnostics.subscribe(CHANNELS.revoked, (message) => { const event = message as RevokedEvent; ... })
 * ```
 */
import diagnostics from 'node:diagnostics_channel'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { OffsetToCommit, TopicPartition } from './consumer-port.js'
import type { CommitReason } from './delivery/types.js'

export const CHANNELS = {
  assigned: 'baton:processing:assigned',
  revoking: 'baton:processing:revoking',
  revoked: 'baton:processing:revoked',
  lost: 'baton:processing:lost',
  committed: 'baton:processing:committed',
  recordFailed: 'baton:processing:record-failed',
  deadLettered: 'baton:processing:dead-lettered',
  transaction: 'baton:processing:transaction',
} as const

export interface AssignedEvent {
  readonly groupId: string
  readonly partitions: readonly TopicPartition[]
}

export interface RevokingEvent {
  readonly groupId: string
  readonly partitions: readonly TopicPartition[]
  readonly reason: 'rebalance' | 'shutdown'
}

export interface RevokedEvent extends RevokingEvent {
  /** Time from the start of the hand-off to the commit's end. */
  readonly durationMs: number
  /** Handlers still running at the drain deadline, aborted: their records will be processed again. */
  readonly aborted: number
  /** What the hand-off committed; empty if nothing was new. */
  readonly committed: readonly OffsetToCommit[]
  /** Set when the commit failed (the partitions' records since the last commit will be processed again). */
  readonly commitError: Error | undefined
}

export interface LostEvent {
  readonly groupId: string
  readonly partitions: readonly TopicPartition[]
  /** Handlers aborted at once. */
  readonly aborted: number
}

export interface CommittedEvent {
  readonly groupId: string
  readonly offsets: readonly OffsetToCommit[]
  readonly reason: CommitReason
}

export interface RecordFailedEvent extends TopicPartition {
  readonly offset: bigint
  readonly attempt: number
  readonly error: unknown
  /** False when this was the last attempt: the record goes to the dead-letter path next. */
  readonly willRetry: boolean
}

export interface DeadLetteredEvent extends TopicPartition {
  readonly offset: bigint
  readonly deadLetterTopic: string
  readonly attempts: number
  readonly error: unknown
}

/**
 * A transaction of the `transactional` delivery: `written` once its outputs are acknowledged
 * (still invisible to read_committed readers), then `committed` or `aborted`.
 */
export interface TransactionEvent {
  readonly transactionalId: string
  readonly phase: 'written' | 'committed' | 'aborted'
  /** Input records whose outputs the transaction carries. */
  readonly records: number
  readonly outputs: number
  readonly offsets: readonly OffsetToCommit[]
  /** Why it was aborted. */
  readonly error?: unknown
}

const channels = {
  assigned: diagnostics.channel(CHANNELS.assigned),
  revoking: diagnostics.channel(CHANNELS.revoking),
  revoked: diagnostics.channel(CHANNELS.revoked),
  lost: diagnostics.channel(CHANNELS.lost),
  committed: diagnostics.channel(CHANNELS.committed),
  recordFailed: diagnostics.channel(CHANNELS.recordFailed),
  deadLettered: diagnostics.channel(CHANNELS.deadLettered),
  transaction: diagnostics.channel(CHANNELS.transaction),
}

export function publish<K extends keyof typeof channels>(name: K, build: () => object): void {
  const channel = channels[name]
  if (channel.hasSubscribers) channel.publish(build())
}

export type RebalanceKind = 'assign' | 'revoke' | 'lost'

/** The app's metrics, registered in the registry the user passes (never prom-client's global one). */
export class ProcessingMetrics {
  readonly processed: Counter<'topic' | 'outcome'>
  readonly handlerDuration: Histogram<'topic'>
  readonly inFlight: Gauge
  readonly committedOffset: Gauge<'topic' | 'partition'>
  readonly lag: Gauge<'topic' | 'partition'>
  readonly rebalances: Counter<'kind'>
  readonly rebalanceDuration: Histogram<'kind'>
  readonly deadLettered: Counter<'topic'>

  constructor(registry: Registry, prefix = 'baton_') {
    const reuse = <T>(name: string, create: () => T): T => (registry.getSingleMetric(prefix + name) as T | undefined) ?? create()
    const registers = [registry]
    this.processed = reuse('records_processed_total', () => new Counter({
      name: `${prefix}records_processed_total`,
      help: 'Records whose handling settled: done (dead-lettered ones included), failed (to run again) or aborted.',
      labelNames: ['topic', 'outcome'] as const,
      registers,
    }))
    this.handlerDuration = reuse('handler_duration_seconds', () => new Histogram({
      name: `${prefix}handler_duration_seconds`,
      help: 'Time from dispatch to settlement of one handler call (a record, or a batch), retries included.',
      labelNames: ['topic'] as const,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }))
    this.inFlight = reuse('handlers_in_flight', () => new Gauge({
      name: `${prefix}handlers_in_flight`,
      help: 'Handler calls running now.',
      registers,
    }))
    this.committedOffset = reuse('committed_offset', () => new Gauge({
      name: `${prefix}committed_offset`,
      help: 'The last offset committed per partition (the next one to consume).',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }))
    this.lag = reuse('consumer_lag', () => new Gauge({
      name: `${prefix}consumer_lag`,
      help: 'High watermark from the last fetch minus the committable offset, per partition.',
      labelNames: ['topic', 'partition'] as const,
      registers,
    }))
    this.rebalances = reuse('rebalances_total', () => new Counter({
      name: `${prefix}rebalances_total`,
      help: 'Rebalance callbacks handled, by kind.',
      labelNames: ['kind'] as const,
      registers,
    }))
    this.rebalanceDuration = reuse('rebalance_duration_seconds', () => new Histogram({
      name: `${prefix}rebalance_duration_seconds`,
      help: 'Time spent in a rebalance callback: for revocations, drain plus commit.',
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60],
      registers,
    }))
    this.deadLettered = reuse('dead_lettered_total', () => new Counter({
      name: `${prefix}dead_lettered_total`,
      help: 'Records sent to a dead-letter topic (or skipped, where dead letters are off), by source topic.',
      labelNames: ['topic'] as const,
      registers,
    }))
  }
}
