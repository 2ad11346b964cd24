/** The member's options, their defaults, and their validation. */
import { ConfigError, type BatonError } from '../../protocol/errors/base.js'
import { silentLogger, warnOf, type Logger } from '../../net/logger.js'
import { cooperativeStickyAssignor } from './assignors/sticky.js'
import type { PartitionAssignor, RebalanceProtocol } from './assignors/types.js'
import type { RebalanceHooks } from './hooks.js'
import { systemTimers, type GroupMetadataSource, type GroupTransport, type Timers } from './transport.js'

export interface GroupMemberOptions {
  groupId: string
  transport: GroupTransport
  metadata: GroupMetadataSource
  /** Preferred first. Default: cooperative-sticky. The protocol is cooperative only if every assignor supports it. */
  assignors?: readonly PartitionAssignor[]
  /** Static membership (KIP-345): a restart with the same id within the session timeout keeps the assignment. */
  groupInstanceId?: string | null
  rackId?: string | null
  /** Default 45 s, as Kafka's clients. */
  sessionTimeoutMs?: number
  /** How long the coordinator waits for members to rejoin, and the bound on each rebalance hook. Default 60 s. */
  rebalanceTimeoutMs?: number
  /** Default 3 s; keep it well below the session timeout (a third, as Kafka advises). */
  heartbeatIntervalMs?: number
  /** Wait before retrying after a transient failure. Default 100 ms. */
  retryBackoffMs?: number
  /** How often to check for new partitions or newly matching topics. Default 5 min. */
  metadataMaxAgeMs?: number
  /**
   * Kafka's max.poll.interval.ms: the longest the application may go without calling poll() before
   * the member leaves the group. Off unless set, since only a consumer that calls poll() can use it.
   */
  maxPollIntervalMs?: number
  hooks?: RebalanceHooks
  /**
   * Where the member reports errors it recovers from or cannot surface elsewhere (hook failures and
   * overruns, fatal errors), as warnings with the typed error as `err`, and what it waits for. Default silent.
   */
  logger?: Logger
  timers?: Timers
}

export interface ResolvedMemberOptions {
  groupId: string
  transport: GroupTransport
  metadata: GroupMetadataSource
  assignors: readonly PartitionAssignor[]
  protocol: RebalanceProtocol
  groupInstanceId: string | null
  rackId: string | null
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number
  retryBackoffMs: number
  metadataMaxAgeMs: number
  maxPollIntervalMs: number | undefined
  hooks: RebalanceHooks
  logger: Logger
  report: (error: BatonError) => void
  timers: Timers
}

/** @throws ConfigError naming the option, for values the coordinator would refuse or that cannot work. */
export function resolveMemberOptions(o: GroupMemberOptions): ResolvedMemberOptions {
  if (typeof o.groupId !== 'string' || o.groupId === '') throw new ConfigError('groupId', 'must be a non-empty string naming the consumer group')
  const assignors = o.assignors ?? [cooperativeStickyAssignor]
  if (assignors.length === 0) throw new ConfigError('assignors', 'must name at least one partition assignor')
  if (new Set(assignors.map((a) => a.name)).size !== assignors.length) throw new ConfigError('assignors', 'must have distinct names')
  if (o.groupInstanceId === '') throw new ConfigError('groupInstanceId', 'must be non-empty when given; leave it out for dynamic membership')
  const sessionTimeoutMs = positive(o, 'sessionTimeoutMs', 45_000)
  const heartbeatIntervalMs = positive(o, 'heartbeatIntervalMs', 3_000)
  if (heartbeatIntervalMs >= sessionTimeoutMs) {
    const session = o.sessionTimeoutMs === undefined ? `the default sessionTimeoutMs (${sessionTimeoutMs})` : `sessionTimeoutMs (${sessionTimeoutMs})`
    throw new ConfigError('heartbeatIntervalMs', `${heartbeatIntervalMs} must be below ${session}, ideally a third of it`)
  }
  return {
    groupId: o.groupId,
    transport: o.transport,
    metadata: o.metadata,
    assignors,
    protocol: assignors.every((a) => a.protocols.includes('cooperative')) ? 'cooperative' : 'eager',
    groupInstanceId: o.groupInstanceId ?? null,
    rackId: o.rackId ?? null,
    sessionTimeoutMs,
    rebalanceTimeoutMs: positive(o, 'rebalanceTimeoutMs', 60_000),
    heartbeatIntervalMs,
    retryBackoffMs: positive(o, 'retryBackoffMs', 100),
    metadataMaxAgeMs: positive(o, 'metadataMaxAgeMs', 300_000),
    maxPollIntervalMs: o.maxPollIntervalMs === undefined ? undefined : positive(o, 'maxPollIntervalMs', 0),
    hooks: o.hooks ?? {},
    logger: o.logger ?? silentLogger,
    report: warnOf(o.logger ?? silentLogger),
    timers: o.timers ?? systemTimers,
  }
}

type NumericOption = 'sessionTimeoutMs' | 'rebalanceTimeoutMs' | 'heartbeatIntervalMs' | 'retryBackoffMs' | 'metadataMaxAgeMs' | 'maxPollIntervalMs'

function positive(o: GroupMemberOptions, name: NumericOption, fallback: number): number {
  const value = o[name] ?? fallback
  if (!Number.isInteger(value) || value <= 0 || value > 0x7fffffff) throw new ConfigError(name, `must be a positive integer of milliseconds up to 2147483647, got ${JSON.stringify(value)}`)
  return value
}
