/**
 * OffsetCommit and OffsetFetch fencing for consumer groups (KIP-848), as Kafka 4 does it: a commit
 * or fetch names its member and that member's epoch. An unknown member gets UNKNOWN_MEMBER_ID, an
 * epoch other than the member's current one STALE_MEMBER_EPOCH (the member refreshes its epoch
 * with a heartbeat and tries again). A commit without a member (empty id, negative epoch) is only
 * for an empty group, as with classic groups. OffsetCommit below v9 cannot carry a member epoch, so
 * members of a consumer group must use v9+ (UNSUPPORTED_VERSION otherwise).
 */
import { KafkaErrorCode } from '../../../protocol/errors/kafka-errors.js'
import type { ConsumerGroup } from './group.js'

const E = KafkaErrorCode

export function validateConsumerCommit(group: ConsumerGroup, memberId: string, memberEpoch: number, apiVersion: number): number | null {
  if (memberId.length === 0 && memberEpoch < 0) return group.isEmpty ? null : E.UNKNOWN_MEMBER_ID
  const member = group.members.get(memberId)
  if (member === undefined) return E.UNKNOWN_MEMBER_ID
  if (apiVersion < 9) return E.UNSUPPORTED_VERSION
  return memberEpoch === member.memberEpoch ? null : E.STALE_MEMBER_EPOCH
}

/** OffsetFetch v9+ may name a member; an admin's fetch (no member, epoch -1) is always answered. */
export function validateConsumerFetch(group: ConsumerGroup, memberId: string | null, memberEpoch: number): number | null {
  if (memberId === null || (memberId.length === 0 && memberEpoch < 0)) return null
  const member = group.members.get(memberId)
  if (member === undefined) return E.UNKNOWN_MEMBER_ID
  return memberEpoch === member.memberEpoch ? null : E.STALE_MEMBER_EPOCH
}

/**
 * TxnOffsetCommit's checks for a consumer group (KIP-447 with KIP-848): a named member must exist
 * and, when the producer sent an epoch, hold it; transactional clients know ILLEGAL_GENERATION, not
 * STALE_MEMBER_EPOCH, so that is the answer, as Kafka's.
 */
export function validateTransactionalConsumerCommit(group: ConsumerGroup, memberId: string, memberEpoch: number): number {
  if (memberId.length === 0) return E.NONE
  const member = group.members.get(memberId)
  if (member === undefined) return E.UNKNOWN_MEMBER_ID
  return memberEpoch < 0 || memberEpoch === member.memberEpoch ? E.NONE : E.ILLEGAL_GENERATION
}
