/** The group consumer's options: the consumer's fetch options plus the membership's. */
import { rangeAssignor } from '../membership/assignors/range.js'
import { roundRobinAssignor } from '../membership/assignors/round-robin.js'
import { cooperativeStickyAssignor, stickyAssignor } from '../membership/assignors/sticky.js'
import type { PartitionAssignor } from '../membership/assignors/types.js'
import type { GroupProtocol } from '../membership/group-membership.js'
import type { RebalanceHooks } from '../membership/hooks.js'
import type { ServerAssignorName } from '../membership/kip848/options.js'
import type { GroupTransport } from '../membership/transport.js'
import { ConfigError } from '../errors.js'
import { CONSUMER_OPTION_NAMES, type ConsumerConfig } from './consumer.js'
import { everyKeyOf } from '../option-names.js'

export type AssignorName = 'cooperative-sticky' | 'sticky' | 'range' | 'roundrobin'

export interface GroupConsumerConfig extends ConsumerConfig {
  groupId: string
  /**
   * The group protocol. `'classic'` (default): JoinGroup/SyncGroup, the members assign
   * (`assignors`). `'consumer'`: KIP-848 (Apache Kafka 4.0+), the coordinator assigns
   * (`serverAssignor`) and hands partitions over one by one, a member never stopping the others.
   */
  groupProtocol?: GroupProtocol
  /** With `groupProtocol: 'consumer'`: the coordinator's assignor, `'uniform'` (Kafka's default) or `'range'`. */
  serverAssignor?: ServerAssignorName
  /**
   * Partition assignors by name (or your own), preferred first. Default `['cooperative-sticky']`
   * (KIP-429: only the partitions that move are revoked). Eager ones (`range`, `roundrobin`,
   * `sticky`) revoke everything at every rebalance.
   */
  assignors?: ReadonlyArray<AssignorName | PartitionAssignor>
  /** Static membership (KIP-345): a restart with the same id within the session timeout keeps the assignment. */
  groupInstanceId?: string
  rackId?: string
  /** Default 45 000. */
  sessionTimeoutMs?: number
  /** Default 60 000; also the bound on each rebalance hook. */
  rebalanceTimeoutMs?: number
  /** Default 3 000. */
  heartbeatIntervalMs?: number
  /**
   * Kafka's max.poll.interval.ms: the member leaves the group if the application does not ask for
   * records for this long. Off by default. Waiting inside the iterator counts as asking.
   */
  maxPollIntervalMs?: number
  /** Awaited rebalance hooks; a commit made in `onRevoke` is accepted under the ending generation. */
  hooks?: RebalanceHooks
  /** Fault drills for tests and the lab; applications leave this unset. */
  faults?: GroupConsumerFaults
}

export const GROUP_CONSUMER_OPTION_NAMES = everyKeyOf<GroupConsumerConfig>()([
  ...CONSUMER_OPTION_NAMES,
  'groupId',
  'groupProtocol',
  'serverAssignor',
  'assignors',
  'groupInstanceId',
  'rackId',
  'sessionTimeoutMs',
  'rebalanceTimeoutMs',
  'heartbeatIntervalMs',
  'maxPollIntervalMs',
  'hooks',
  'faults',
])

/** The coordinator connection the membership speaks through, and a way to close it. */
export interface ClosableGroupTransport extends GroupTransport {
  close(): Promise<void>
  /** How long the coordinator has been out of reach (0 while connected). */
  unreachableMs?(): number
}

export interface GroupConsumerFaults {
  /**
   * Aborting this kills the consumer on the spot, as when its process is killed: its connections
   * close, nothing more is sent (no commit, no heartbeat, no LeaveGroup; requests fail with
   * `ConsumerCrashedError`) and nothing more is fetched. The coordinator evicts the member after the
   * session timeout. `close()` afterwards only releases what is left in this process.
   */
  readonly crash?: AbortSignal
  /** Wraps the coordinator connection, to hold, drop or count requests; it is given the real one. */
  readonly groupTransport?: (transport: ClosableGroupTransport) => ClosableGroupTransport
}

const BY_NAME: Readonly<Record<AssignorName, PartitionAssignor>> = {
  'cooperative-sticky': cooperativeStickyAssignor,
  sticky: stickyAssignor,
  range: rangeAssignor,
  roundrobin: roundRobinAssignor,
}

/** @throws ConfigError naming the option. */
export function resolveAssignors(config: GroupConsumerConfig): PartitionAssignor[] {
  const given = config.assignors ?? ['cooperative-sticky']
  if (!Array.isArray(given) || given.length === 0) {
    throw new ConfigError('assignors', `must list at least one assignor: ${Object.keys(BY_NAME).join(', ')}, or your own PartitionAssignor`)
  }
  return given.map((a: AssignorName | PartitionAssignor) => {
    if (typeof a !== 'string') return a
    const assignor = BY_NAME[a] as PartitionAssignor | undefined
    if (assignor === undefined) throw new ConfigError('assignors', `unknown assignor ${JSON.stringify(a)}; use one of ${Object.keys(BY_NAME).join(', ')}`)
    return assignor
  })
}
/** @throws ConfigError for options that belong to the other protocol. */
export function resolveGroupProtocol(config: GroupConsumerConfig): GroupProtocol {
  const protocol = config.groupProtocol ?? 'classic'
  if (protocol !== 'classic' && protocol !== 'consumer') throw new ConfigError('groupProtocol', `must be 'classic' or 'consumer', got ${JSON.stringify(protocol)}`)
  if (protocol === 'consumer') {
    if (config.assignors !== undefined) throw new ConfigError('assignors', "the coordinator assigns under groupProtocol 'consumer'; choose its assignor with serverAssignor ('uniform' or 'range')")
    if (config.heartbeatIntervalMs !== undefined) throw new ConfigError('heartbeatIntervalMs', "under groupProtocol 'consumer' the coordinator sets the heartbeat interval (group.consumer.heartbeat.interval.ms)")
    if (config.maxPollIntervalMs !== undefined) throw new ConfigError('maxPollIntervalMs', "is not supported with groupProtocol 'consumer' yet; leave it out")
  } else if (config.serverAssignor !== undefined) {
    throw new ConfigError('serverAssignor', "applies to groupProtocol 'consumer' only; the classic protocol uses assignors")
  }
  return protocol
}
