/**
 * The JoinGroup, SyncGroup and LeaveGroup exchanges, each reduced to an outcome the member's loop
 * can act on. Transport failures become `retry` outcomes: a lost connection during a rebalance is
 * an ordinary event, not a reason to stop.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { kafkaError, KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { JoinGroup, LeaveGroup, SyncGroup } from '../../protocol/generated/index.js'
import type { AssignorMemberState, PartitionAssignor, RebalanceProtocol } from './assignors/types.js'
import { CONSUMER_PROTOCOL_TYPE, decodeAssignment, encodeSubscription } from './consumer-protocol.js'
import { ConsumerProtocolError, MembershipError } from './errors.js'
import { groupErrorAction } from './error-actions.js'
import type { HeartbeatIdentity } from './heartbeat.js'
import { leaderAssign } from './leader.js'
import type { TopicPartitions } from './topic-partitions.js'
import type { GroupMetadataSource, GroupTransport } from './transport.js'

type Failure =
  | { kind: 'retry' }
  | { kind: 'rejoin' }
  | { kind: 'unknown-member' }
  | { kind: 'illegal-generation' }
  | { kind: 'fenced' }
  | { kind: 'fatal'; error: BatonError }

export type JoinOutcome =
  | {
      kind: 'joined'
      memberId: string
      generationId: number
      leader: boolean
      protocolName: string
      /** The leader's computed assignments; empty for followers. */
      assignments: { memberId: string; assignment: Buffer }[]
      /** Partition counts the leader assigned from. */
      partitionCounts: Map<string, number> | undefined
    }
  | { kind: 'member-id-required'; memberId: string }
  | Failure

export interface JoinRequest {
  transport: GroupTransport
  metadata: GroupMetadataSource
  groupId: string
  memberId: string
  groupInstanceId: string | null
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  assignors: readonly PartitionAssignor[]
  protocol: RebalanceProtocol
  topics: readonly string[]
  rackId: string | null
  owned: readonly TopicPartitions[]
  assignorState: AssignorMemberState
  reason: string
  report: (error: BatonError) => void
}

export async function joinGroup(req: JoinRequest): Promise<JoinOutcome> {
  const protocols = req.assignors.map((a) => ({
    name: a.name,
    metadata: encodeSubscription({
      topics: req.topics,
      userData: a.subscriptionUserData?.(req.assignorState) ?? null,
      ownedPartitions: req.owned,
      generationId: req.assignorState.generationId,
      rackId: req.rackId,
    }),
  }))
  let res
  try {
    res = await req.transport.send(JoinGroup, (version) => ({
      groupId: req.groupId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      memberId: req.memberId,
      groupInstanceId: staticMemberId(req.groupInstanceId, version),
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocols,
      reason: req.reason,
    }))
  } catch (err) {
    return transportFailure(err, req.report)
  }
  // KIP-394: a new member first gets its id back with this error, and joins again with it.
  if (res.errorCode === KafkaErrorCode.MEMBER_ID_REQUIRED) return { kind: 'member-id-required', memberId: res.memberId }
  if (res.errorCode !== KafkaErrorCode.NONE) {
    const failure = failureFor(res.errorCode, 'JoinGroup', req.groupId, req.transport)
    // REBALANCE_IN_PROGRESS answering a join means "try again", not a new round.
    return failure.kind === 'rejoin' ? { kind: 'retry' } : failure
  }
  const leader = res.leader === res.memberId
  const protocolName = res.protocolName ?? ''
  let assignments: { memberId: string; assignment: Buffer }[] = []
  let partitionCounts: Map<string, number> | undefined
  if (leader) {
    const assignor = req.assignors.find((a) => a.name === protocolName)
    if (assignor === undefined) {
      return {
        kind: 'fatal',
        error: new MembershipError('GROUP_FATAL', `the coordinator chose assignor ${JSON.stringify(protocolName)}, which this member does not have; configure the same assignors on every member`),
      }
    }
    try {
      const result = await leaderAssign(assignor, res.members, req.metadata, req.report, req.protocol)
      assignments = result.assignments
      partitionCounts = result.partitionCounts
    } catch (err) {
      return transportFailure(err, req.report)
    }
  }
  return { kind: 'joined', memberId: res.memberId, generationId: res.generationId, leader, protocolName, assignments, partitionCounts }
}

export type SyncOutcome = { kind: 'synced'; partitions: TopicPartitions[] } | Failure

export async function syncGroup(
  transport: GroupTransport,
  groupId: string,
  identity: HeartbeatIdentity,
  joined: Extract<JoinOutcome, { kind: 'joined' }>,
  report: (error: BatonError) => void,
): Promise<SyncOutcome> {
  let res
  try {
    res = await transport.send(SyncGroup, (version) => ({
      groupId,
      generationId: identity.generationId,
      memberId: identity.memberId,
      groupInstanceId: version >= 3 ? identity.groupInstanceId : null,
      protocolType: CONSUMER_PROTOCOL_TYPE,
      protocolName: joined.protocolName,
      assignments: joined.assignments,
    }))
  } catch (err) {
    return transportFailure(err, report)
  }
  if (res.errorCode !== KafkaErrorCode.NONE) {
    const failure = failureFor(res.errorCode, 'SyncGroup', groupId, transport)
    // After a failed sync the member must join again whatever the cause (Kafka's clients do the same).
    return failure.kind === 'retry' ? { kind: 'rejoin' } : failure
  }
  try {
    return { kind: 'synced', partitions: [...decodeAssignment(res.assignment).partitions] }
  } catch (err) {
    if (!(err instanceof ConsumerProtocolError)) throw err
    report(err)
    return { kind: 'rejoin' }
  }
}

/** Best effort: a member that fails to leave is evicted after its session timeout anyway. */
export async function leaveGroup(transport: GroupTransport, groupId: string, memberId: string, report: (error: BatonError) => void): Promise<void> {
  try {
    const res = await transport.send(LeaveGroup, (version) =>
      version >= 3 ? { groupId, members: [{ memberId, groupInstanceId: null, reason: 'the consumer is closing' }] } : { groupId, memberId },
    )
    const code = res.errorCode || (res.members.find((m) => m.errorCode !== KafkaErrorCode.NONE)?.errorCode ?? KafkaErrorCode.NONE)
    if (code !== KafkaErrorCode.NONE && code !== KafkaErrorCode.UNKNOWN_MEMBER_ID) report(kafkaError(code, { api: 'LeaveGroup', groupId }))
  } catch (err) {
    report(new MembershipError('GROUP_LEAVE_FAILED', 'LeaveGroup could not be sent; the coordinator will evict this member after its session timeout', { cause: err }))
  }
}

function failureFor(errorCode: number, api: string, groupId: string, transport: GroupTransport): Failure {
  const action = groupErrorAction(errorCode)
  switch (action) {
    case 'none':
    case 'retry':
      return { kind: 'retry' }
    case 'coordinator':
      transport.coordinatorLost()
      return { kind: 'retry' }
    case 'rejoin':
    case 'unknown-member':
    case 'illegal-generation':
    case 'fenced':
      return { kind: action }
    // KIP-848 codes; a classic coordinator does not send them, and retrying the join is harmless.
    case 'fenced-epoch':
    case 'stale-epoch':
      return { kind: 'retry' }
    case 'fatal':
      return { kind: 'fatal', error: kafkaError(errorCode, { api, groupId }) }
  }
}

/**
 * A request that got no answer. Dropped connections and timeouts are retried; an error that will
 * repeat (no common API version, a closed client, a protocol violation) stops the member instead of
 * looping on it.
 */
function transportFailure(err: unknown, report: (error: BatonError) => void): Failure {
  if (!(err instanceof BatonError)) throw err
  const retriable = 'retriable' in err && err.retriable === true
  if (!retriable) return { kind: 'fatal', error: err }
  report(err)
  return { kind: 'retry' }
}

/** Static membership cannot be dropped quietly: the member would join as a new member on every restart. */
function staticMemberId(groupInstanceId: string | null, joinVersion: number): string | null {
  if (groupInstanceId === null || joinVersion >= 5) return groupInstanceId
  throw new MembershipError(
    'GROUP_STATIC_UNSUPPORTED',
    `static membership (groupInstanceId ${JSON.stringify(groupInstanceId)}) needs JoinGroup v5 (Kafka 2.3 or newer), but the coordinator ` +
      `speaks only v${joinVersion}; upgrade the brokers or leave groupInstanceId out`,
  )
}
