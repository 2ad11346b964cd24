/** Options of a KIP-848 member, their defaults and their checks. */
import type { BatonError } from '../../../protocol/errors/base.js'
import type { RebalanceHooks } from '../hooks.js'
import { systemTimers, type GroupMetadataSource, type GroupTransport, type Timers } from '../transport.js'

/** The coordinator's assignors (KIP-848): the assignment is computed by the broker, not a member. */
export type ServerAssignorName = 'uniform' | 'range'

export interface ConsumerGroupMemberOptions {
  groupId: string
  transport: GroupTransport
  metadata: GroupMetadataSource
  /** The coordinator's assignor to ask for; the broker's default (uniform) when left out. */
  serverAssignor?: ServerAssignorName | (string & {})
  /** Static membership: a restart with the same id within the session timeout keeps the assignment. */
  groupInstanceId?: string | null
  rackId?: string | null
  /**
   * How long without a successful heartbeat before the member presumes its session lost and calls
   * onLost. The coordinator's own session timeout (group.consumer.session.timeout.ms) decides when
   * it evicts the member; keep this at or below it. Default 45 s, Kafka's default for that config.
   */
  sessionTimeoutMs?: number
  /** How long the coordinator waits for this member to revoke partitions, and the bound on each hook. Default 60 s. */
  rebalanceTimeoutMs?: number
  /** Wait before retrying after a transient failure. Default 100 ms. */
  retryBackoffMs?: number
  hooks?: RebalanceHooks
  onError?: (error: BatonError) => void
  timers?: Timers
}

export interface ResolvedConsumerMemberOptions {
  groupId: string
  transport: GroupTransport
  metadata: GroupMetadataSource
  serverAssignor: string | null
  groupInstanceId: string | null
  rackId: string | null
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  retryBackoffMs: number
  hooks: RebalanceHooks
  report: (error: BatonError) => void
  timers: Timers
}

/** @throws RangeError naming the option. */
export function resolveConsumerMemberOptions(o: ConsumerGroupMemberOptions): ResolvedConsumerMemberOptions {
  if (typeof o.groupId !== 'string' || o.groupId === '') throw new RangeError('groupId must be a non-empty string')
  if (o.groupInstanceId === '') throw new RangeError('groupInstanceId must be non-empty when given; leave it out for dynamic membership')
  if (o.serverAssignor !== undefined && (typeof o.serverAssignor !== 'string' || o.serverAssignor === '')) {
    throw new RangeError('serverAssignor must name the coordinator\'s assignor: "uniform" or "range"')
  }
  return {
    groupId: o.groupId,
    transport: o.transport,
    metadata: o.metadata,
    serverAssignor: o.serverAssignor ?? null,
    groupInstanceId: o.groupInstanceId ?? null,
    rackId: o.rackId ?? null,
    sessionTimeoutMs: positive('sessionTimeoutMs', o.sessionTimeoutMs, 45_000),
    rebalanceTimeoutMs: positive('rebalanceTimeoutMs', o.rebalanceTimeoutMs, 60_000),
    retryBackoffMs: positive('retryBackoffMs', o.retryBackoffMs, 100),
    hooks: o.hooks ?? {},
    report: o.onError ?? ((error) => process.emitWarning(error)),
    timers: o.timers ?? systemTimers,
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v <= 0 || v > 0x7fffffff) throw new RangeError(`${name} must be a positive integer of milliseconds, got ${v}`)
  return v
}
