/**
 * The server-side assignors of KIP-848, pure functions of the members' subscriptions, the
 * subscribed topics' partition counts and the previous target assignment.
 *
 *   uniform (the default): every partition goes to a member subscribed to its topic, members end
 *     within one partition of each other where their subscriptions allow it, and a partition stays
 *     with its previous owner unless balance needs it elsewhere (sticky: few moves per rebalance).
 *   range: per topic, the subscribed members in member id order take contiguous ranges, the first
 *     ones one partition more when the count does not divide; co-partitioned topics line up.
 */
import { assignmentOf, type Assignment } from './assignment.js'

export const ASSIGNORS = ['uniform', 'range'] as const
export type AssignorName = (typeof ASSIGNORS)[number]
export const DEFAULT_ASSIGNOR: AssignorName = 'uniform'

export function isAssignor(name: string): name is AssignorName {
  return (ASSIGNORS as readonly string[]).includes(name)
}

export interface AssignorMember {
  readonly memberId: string
  /** Whether the member subscribes to a topic (by name or regex). */
  subscribes(topic: string): boolean
}

export interface AssignorInput {
  readonly members: readonly AssignorMember[]
  /** Subscribed topics that exist, with their partition counts. */
  readonly partitionCounts: ReadonlyMap<string, number>
  /** The previous target assignment, for stickiness. */
  readonly previous: ReadonlyMap<string, Assignment>
}

export function assign(name: AssignorName, input: AssignorInput): Map<string, Assignment> {
  return name === 'range' ? rangeAssign(input) : uniformAssign(input)
}

const byId = (a: AssignorMember, b: AssignorMember): number => (a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0)

export function rangeAssign({ members, partitionCounts }: AssignorInput): Map<string, Assignment> {
  const result = new Map<string, [string, number[]][]>(members.map((m) => [m.memberId, []]))
  for (const [topic, count] of [...partitionCounts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const eligible = members.filter((m) => m.subscribes(topic)).sort(byId)
    if (eligible.length === 0) continue
    const base = Math.floor(count / eligible.length)
    const extra = count % eligible.length
    let next = 0
    eligible.forEach((m, i) => {
      const n = base + (i < extra ? 1 : 0)
      const partitions = Array.from({ length: n }, (_, k) => next + k)
      next += n
      result.get(m.memberId)!.push([topic, partitions])
    })
  }
  return new Map([...result].map(([id, entries]) => [id, assignmentOf(entries)]))
}

export function uniformAssign({ members, partitionCounts, previous }: AssignorInput): Map<string, Assignment> {
  const owner = new Map<string, string>()
  const owned = new Map<string, Set<string>>(members.map((m) => [m.memberId, new Set()]))
  const memberById = new Map(members.map((m) => [m.memberId, m]))
  const k = (t: string, p: number): string => `${t}\0${p}`
  const give = (tp: string, memberId: string): void => {
    const before = owner.get(tp)
    if (before !== undefined) owned.get(before)!.delete(tp)
    owner.set(tp, memberId)
    owned.get(memberId)!.add(tp)
  }
  const all: { tp: string; topic: string; eligible: AssignorMember[] }[] = []
  for (const [topic, count] of partitionCounts) {
    const eligible = members.filter((m) => m.subscribes(topic)).sort(byId)
    if (eligible.length === 0) continue
    for (let p = 0; p < count; p++) all.push({ tp: k(topic, p), topic, eligible })
  }
  // 1. Stickiness: keep each partition with its previous owner if that member still takes the topic.
  for (const [memberId, assignment] of previous) {
    const member = memberById.get(memberId)
    if (member === undefined) continue
    for (const [topic, partitions] of assignment) {
      if (!member.subscribes(topic)) continue
      const count = partitionCounts.get(topic) ?? 0
      for (const p of partitions) if (p < count && !owner.has(k(topic, p))) give(k(topic, p), memberId)
    }
  }
  // 2. The rest go to the least loaded eligible member.
  const load = (id: string): number => owned.get(id)!.size
  for (const { tp, eligible } of all) {
    if (owner.has(tp)) continue
    give(tp, eligible.reduce((best, m) => (load(m.memberId) < load(best.memberId) ? m : best)).memberId)
  }
  // 3. Balance: the least loaded member takes a partition it may have from the most loaded member
  //    two or more above it, until no such move is left. Moving only from the most loaded keeps
  //    members that are already at their share untouched (stickiness); each move lowers the sum of
  //    squared loads, so this ends.
  const eligibleFor = new Map<string, { tp: string; eligible: AssignorMember[] }[]>(members.map((m) => [m.memberId, all.filter((x) => x.eligible.includes(m))]))
  for (;;) {
    let moved = false
    for (const taker of [...members].sort((a, b) => load(a.memberId) - load(b.memberId) || byId(a, b))) {
      let best: { tp: string; from: string } | undefined
      for (const { tp } of eligibleFor.get(taker.memberId)!) {
        const from = owner.get(tp)!
        if (load(from) - load(taker.memberId) < 2) continue
        if (best === undefined || load(from) > load(best.from)) best = { tp, from }
      }
      if (best !== undefined) {
        give(best.tp, taker.memberId)
        moved = true
        break
      }
    }
    if (!moved) break
  }
  const result = new Map<string, Assignment>()
  for (const [memberId, tps] of owned) {
    result.set(
      memberId,
      assignmentOf(
        [...tps].map((tp) => {
          const cut = tp.lastIndexOf('\0')
          return [tp.slice(0, cut), [Number(tp.slice(cut + 1))]] as const
        }),
      ),
    )
  }
  return result
}
