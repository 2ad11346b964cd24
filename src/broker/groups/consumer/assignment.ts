/**
 * Partition sets of the consumer group protocol, by topic name: `topic → sorted partitions`. The
 * coordinator works with names throughout and turns them into topic ids only at the wire, so a
 * topic's id can never outlive the topic in the group's state.
 */
import { partitionKey } from '../../../protocol/topic-partition.js'

export type Assignment = ReadonlyMap<string, readonly number[]>

export const EMPTY_ASSIGNMENT: Assignment = new Map()

export function assignmentOf(entries: Iterable<readonly [string, readonly number[]]>): Assignment {
  const out = new Map<string, number[]>()
  for (const [topic, partitions] of entries) {
    if (partitions.length === 0) continue
    const merged = new Set([...(out.get(topic) ?? []), ...partitions])
    out.set(topic, [...merged].sort((a, b) => a - b))
  }
  return out
}

export function* pairsOf(a: Assignment): Generator<readonly [string, number]> {
  for (const [topic, partitions] of a) for (const p of partitions) yield [topic, p]
}

export function keysOf(a: Assignment): Set<string> {
  const out = new Set<string>()
  for (const [topic, p] of pairsOf(a)) out.add(partitionKey(topic, p))
  return out
}

export function sizeOf(a: Assignment): number {
  let n = 0
  for (const partitions of a.values()) n += partitions.length
  return n
}

/** Partitions of `a` that `keep` says yes to. */
export function filterAssignment(a: Assignment, keep: (topic: string, partition: number) => boolean): Assignment {
  return assignmentOf([...a].map(([topic, partitions]) => [topic, partitions.filter((p) => keep(topic, p))] as const))
}

export function intersect(a: Assignment, b: Assignment): Assignment {
  const inB = keysOf(b)
  return filterAssignment(a, (t, p) => inB.has(partitionKey(t, p)))
}

export function minus(a: Assignment, b: Assignment): Assignment {
  const inB = keysOf(b)
  return filterAssignment(a, (t, p) => !inB.has(partitionKey(t, p)))
}

export function union(a: Assignment, b: Assignment): Assignment {
  return assignmentOf([...a, ...b])
}

export function sameAssignment(a: Assignment, b: Assignment): boolean {
  return sizeOf(a) === sizeOf(b) && sizeOf(intersect(a, b)) === sizeOf(a)
}

export function has(a: Assignment, topic: string, partition: number): boolean {
  return a.get(topic)?.includes(partition) ?? false
}

export function toRecord(a: Assignment): Record<string, number[]> {
  return Object.fromEntries([...a].map(([t, ps]) => [t, [...ps]]))
}

export function fromRecord(r: Record<string, readonly number[]>): Assignment {
  return assignmentOf(Object.entries(r))
}
