/**
 * The group side of transactional offset commits (KIP-98, KIP-447): TxnOffsetCommit's checks of
 * the group metadata the producer sent with its offsets, and making the offsets of a committed
 * transaction visible. The offsets themselves wait in the transaction coordinator until then.
 *
 * The checks are Kafka's for TxnOffsetCommit, which differ from OffsetCommit's: no
 * REBALANCE_IN_PROGRESS (a rebalance under way does not stop a transaction), a member id or
 * generation left at its "unknown" value is not checked (producers that send no group metadata),
 * and a group that does not exist yet is created empty, with generation 0.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { ClassicGroup } from './group.js'
import type { CoordinatorState } from './rebalance.js'

const E = KafkaErrorCode

export interface TransactionalCommitMetadata {
  readonly groupId: string
  /** -1 when the producer sent no group metadata. */
  readonly generationId: number
  /** Empty when the producer sent no group metadata. */
  readonly memberId: string
  readonly groupInstanceId: string | null
}

export interface TransactionalOffset {
  readonly topic: string
  readonly partition: number
  readonly offset: bigint
  readonly leaderEpoch: number
  readonly metadata: string | null
}

/** NONE, or the error Kafka answers every partition of the TxnOffsetCommit with. */
export function validateTransactionalCommit(state: CoordinatorState, req: TransactionalCommitMetadata): number {
  const group = state.groups.get(req.groupId)
  if (group?.is('Dead') === true) return E.COORDINATOR_NOT_AVAILABLE
  if (req.groupInstanceId !== null && group !== undefined) {
    const current = group.staticMemberId(req.groupInstanceId)
    if (current !== undefined && current !== req.memberId) return E.FENCED_INSTANCE_ID
  }
  if (req.memberId.length > 0 && group?.members.has(req.memberId) !== true) return E.UNKNOWN_MEMBER_ID
  if (req.generationId >= 0 && req.generationId !== (group?.generationId ?? 0)) return E.ILLEGAL_GENERATION
  return E.NONE
}

/** The offsets of a committed transaction become the group's committed offsets, stored like any commit. */
export function applyTransactionalOffsets(state: CoordinatorState, groupId: string, offsets: readonly TransactionalOffset[]): void {
  const now = state.config.scheduler.now()
  let group = state.groups.get(groupId)
  if (group === undefined) state.groups.set(groupId, (group = new ClassicGroup(groupId, now)))
  for (const o of offsets) {
    const committed = { offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata, commitTimestamp: now }
    group.setOffset(o.topic, o.partition, committed)
    state.store.saveOffset({ groupId, topic: o.topic, partition: o.partition, ...committed })
  }
}
