/**
 * Moving one member toward its target assignment, one heartbeat at a time (KIP-848's reconciliation).
 *
 * The rule that makes a hand-off safe: a partition is given to a member only once no other member
 * holds it, that is, once its previous owner's heartbeat showed it revoked (or that owner left or
 * its session expired and it was removed). So a member moving to a new target:
 *
 *   1. If it owns partitions the target takes away, it is told to revoke them (its assignment shrinks
 *      to what it keeps) and stays at its epoch, `unrevoked`, until a heartbeat reports it owns no
 *      more than that.
 *   2. Then it moves to the target epoch and gets every partition of its target that is free; those
 *      still held by others follow on later heartbeats (`unreleased`).
 *
 * A member never loses a partition it keeps and is never handed one another member still holds.
 */
import { keysOf, intersect, minus, sizeOf, union, filterAssignment, EMPTY_ASSIGNMENT, type Assignment } from './assignment.js'
import type { ConsumerGroup, ConsumerMember } from './group.js'

export interface ReconcileResult {
  /** The member just entered `unrevoked`: the coordinator arms its rebalance timeout. */
  readonly startedRevoking: boolean
}

/**
 * Advances `member` as far as it can. `owned` is what its heartbeat reported owning, or null when the
 * heartbeat did not say (it had not changed).
 */
export function reconcile(group: ConsumerGroup, member: ConsumerMember, owned: Assignment | null): ReconcileResult {
  if (member.state === 'unrevoked') {
    if (owned === null || !revokedAll(member, owned)) return { startedRevoking: false }
    member.pendingRevocation = EMPTY_ASSIGNMENT
    member.rebalanceTimer?.cancel()
    member.rebalanceTimer = null
    member.state = 'stable'
    // The epoch moves now: the member is past the revocation of the epoch it was at.
    return advance(group, member)
  }
  if (member.memberEpoch === group.assignmentEpoch && member.state === 'stable') return { startedRevoking: false }
  return advance(group, member)
}

function revokedAll(member: ConsumerMember, owned: Assignment): boolean {
  const pending = keysOf(member.pendingRevocation)
  for (const k of keysOf(owned)) if (pending.has(k)) return false
  return true
}

function advance(group: ConsumerGroup, member: ConsumerMember): ReconcileResult {
  const target = group.targetAssignment.get(member.memberId) ?? EMPTY_ASSIGNMENT
  const kept = intersect(member.assigned, target)
  const revoke = minus(member.assigned, target)
  if (sizeOf(revoke) > 0) {
    member.assigned = kept
    member.pendingRevocation = revoke
    member.state = 'unrevoked'
    return { startedRevoking: true }
  }
  const wanted = minus(target, kept)
  const free = filterAssignment(wanted, (t, p) => !group.heldByOther(member.memberId, t, p))
  member.assigned = union(kept, free)
  if (member.memberEpoch !== group.assignmentEpoch) {
    member.previousMemberEpoch = member.memberEpoch
    member.memberEpoch = group.assignmentEpoch
  }
  member.state = sizeOf(free) < sizeOf(wanted) ? 'unreleased' : 'stable'
  return { startedRevoking: false }
}
