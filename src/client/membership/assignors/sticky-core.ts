/**
 * The sticky assignment (KIP-54): balanced like round-robin, but each member keeps as many of the
 * partitions it owned as balance allows, so that a rebalance moves few partitions.
 *
 * Two paths, as in Kafka's AbstractStickyAssignor:
 * - every member subscribes to the same topics: exact quotas. With N partitions and M members each
 *   member gets floor(N/M) or one more, and exactly N % M members get one more. Members keep owned
 *   partitions up to their quota, members that owned more than the floor get the extra slots first,
 *   and what is left fills the members below quota. That keeps the most owned partitions possible.
 * - subscriptions differ: members keep what they own, unowned partitions go to the eligible member
 *   with the fewest (partitions with the fewest eligible members first), then partitions move from
 *   a member to an eligible one holding at least two fewer until no such move exists. Each move
 *   lowers the sum of squared counts, so this ends.
 *
 * Ownership claims are validated first: a partition that no longer exists, or whose topic the
 * member no longer subscribes to, is not kept; two members claiming one partition is settled by the
 * higher generation, and a tie means neither keeps it (their data may both be stale).
 */
import { compareStrings, compareTopicPartitions, partitionKey, type TopicPartition } from '../topic-partitions.js'

export interface StickyMember {
  memberId: string
  /** Subscribed topics that exist. */
  topics: ReadonlySet<string>
  owned: readonly TopicPartition[]
  generationId: number
}

/** Assignment per member id; every input member has an entry. */
export type StickyAssignment = Map<string, TopicPartition[]>

export function stickyAssign(members: readonly StickyMember[], partitionsPerTopic: ReadonlyMap<string, number>): StickyAssignment {
  const sortedMembers = [...members].sort((a, b) => compareStrings(a.memberId, b.memberId))
  const kept = validOwnership(sortedMembers, partitionsPerTopic)
  if (sortedMembers.length === 0) return new Map()
  return subscriptionsIdentical(sortedMembers)
    ? constrainedAssign(sortedMembers, kept, partitionsPerTopic)
    : generalAssign(sortedMembers, kept, partitionsPerTopic)
}

function validOwnership(members: readonly StickyMember[], partitionsPerTopic: ReadonlyMap<string, number>): Map<string, TopicPartition[]> {
  const claims = new Map<string, { tp: TopicPartition; memberId: string; generationId: number }[]>()
  for (const m of members) {
    const seen = new Set<string>()
    for (const tp of m.owned) {
      const key = partitionKey(tp)
      if (seen.has(key)) continue
      seen.add(key)
      const count = partitionsPerTopic.get(tp.topic) ?? 0
      if (!m.topics.has(tp.topic) || !Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= count) continue
      let list = claims.get(key)
      if (list === undefined) claims.set(key, (list = []))
      list.push({ tp: { topic: tp.topic, partition: tp.partition }, memberId: m.memberId, generationId: m.generationId })
    }
  }
  const kept = new Map<string, TopicPartition[]>(members.map((m) => [m.memberId, []]))
  for (const list of claims.values()) {
    list.sort((a, b) => b.generationId - a.generationId)
    const [first, second] = list
    if (first === undefined || (second !== undefined && second.generationId === first.generationId)) continue
    kept.get(first.memberId)?.push(first.tp)
  }
  for (const list of kept.values()) list.sort(compareTopicPartitions)
  return kept
}

function subscriptionsIdentical(members: readonly StickyMember[]): boolean {
  const first = members[0]
  if (first === undefined) return true
  return members.every((m) => m.topics.size === first.topics.size && [...m.topics].every((t) => first.topics.has(t)))
}

function allPartitions(topics: Iterable<string>, partitionsPerTopic: ReadonlyMap<string, number>): TopicPartition[] {
  const out: TopicPartition[] = []
  for (const topic of [...new Set(topics)].sort(compareStrings)) {
    const count = partitionsPerTopic.get(topic) ?? 0
    for (let partition = 0; partition < count; partition++) out.push({ topic, partition })
  }
  return out
}

function constrainedAssign(
  members: readonly StickyMember[],
  kept: Map<string, TopicPartition[]>,
  partitionsPerTopic: ReadonlyMap<string, number>,
): StickyAssignment {
  const partitions = allPartitions(members[0]?.topics ?? [], partitionsPerTopic)
  const minQuota = Math.floor(partitions.length / members.length)
  let extraSlots = partitions.length % members.length
  const result: StickyAssignment = new Map()
  const taken = new Set<string>()
  // Members owning the most claim the extra slots first; any order gives the same number kept.
  const byOwned = [...members].sort((a, b) => (kept.get(b.memberId)?.length ?? 0) - (kept.get(a.memberId)?.length ?? 0))
  for (const m of byOwned) {
    const owned = kept.get(m.memberId) ?? []
    let quota = Math.min(owned.length, minQuota)
    if (extraSlots > 0 && owned.length > minQuota) {
      quota = minQuota + 1
      extraSlots--
    }
    const keep = owned.slice(0, quota)
    for (const tp of keep) taken.add(partitionKey(tp))
    result.set(m.memberId, keep)
  }
  const unassigned = partitions.filter((tp) => !taken.has(partitionKey(tp)))
  let next = 0
  for (const m of members) {
    const list = result.get(m.memberId)!
    while (list.length < minQuota && next < unassigned.length) list.push(unassigned[next++]!)
  }
  for (const m of members) {
    if (next >= unassigned.length) break
    const list = result.get(m.memberId)!
    if (list.length === minQuota && extraSlots > 0) {
      list.push(unassigned[next++]!)
      extraSlots--
    }
  }
  for (const list of result.values()) list.sort(compareTopicPartitions)
  return result
}

function generalAssign(
  members: readonly StickyMember[],
  kept: Map<string, TopicPartition[]>,
  partitionsPerTopic: ReadonlyMap<string, number>,
): StickyAssignment {
  const eligible = new Map<string, StickyMember[]>()
  for (const m of members) {
    for (const topic of m.topics) {
      let list = eligible.get(topic)
      if (list === undefined) eligible.set(topic, (list = []))
      list.push(m)
    }
  }
  const current = new Map<string, Map<string, TopicPartition>>()
  const fresh = new Set<string>()
  const taken = new Set<string>()
  for (const m of members) {
    const mine = new Map<string, TopicPartition>()
    for (const tp of kept.get(m.memberId) ?? []) {
      mine.set(partitionKey(tp), tp)
      taken.add(partitionKey(tp))
    }
    current.set(m.memberId, mine)
  }
  const count = (m: StickyMember): number => current.get(m.memberId)?.size ?? 0
  const leastLoaded = (candidates: readonly StickyMember[], exclude?: StickyMember): StickyMember | undefined => {
    let best: StickyMember | undefined
    for (const c of candidates) if (c !== exclude && (best === undefined || count(c) < count(best))) best = c
    return best
  }

  const unassigned = allPartitions(eligible.keys(), partitionsPerTopic).filter((tp) => !taken.has(partitionKey(tp)))
  unassigned.sort((a, b) => (eligible.get(a.topic)?.length ?? 0) - (eligible.get(b.topic)?.length ?? 0) || compareTopicPartitions(a, b))
  for (const tp of unassigned) {
    const target = leastLoaded(eligible.get(tp.topic) ?? [])
    if (target === undefined) continue
    current.get(target.memberId)?.set(partitionKey(tp), tp)
    fresh.add(partitionKey(tp))
  }

  for (let moved = true; moved; ) {
    moved = false
    const order = [...members].sort((a, b) => count(b) - count(a) || compareStrings(a.memberId, b.memberId))
    search: for (const from of order) {
      const mine = current.get(from.memberId)!
      // Partitions handed out in this round move before ones the member owned, to keep stickiness.
      const candidates = [...mine.values()].sort(
        (a, b) => Number(fresh.has(partitionKey(b))) - Number(fresh.has(partitionKey(a))) || compareTopicPartitions(a, b),
      )
      for (const tp of candidates) {
        const to = leastLoaded(eligible.get(tp.topic) ?? [], from)
        if (to === undefined || count(to) >= count(from) - 1) continue
        mine.delete(partitionKey(tp))
        current.get(to.memberId)?.set(partitionKey(tp), tp)
        moved = true
        break search
      }
    }
  }

  const result: StickyAssignment = new Map()
  for (const m of members) result.set(m.memberId, [...(current.get(m.memberId)?.values() ?? [])].sort(compareTopicPartitions))
  return result
}
