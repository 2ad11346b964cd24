/**
 * Partitions as the group code handles them: flat `{ topic, partition }` pairs inside, grouped by
 * topic (`TopicPartitions`) on the wire and in hooks. Orderings here use plain string comparison
 * (UTF-16 code units), which is what Java's `String.compareTo` does; assignors that must agree with
 * other clients depend on that.
 */

import { partitionKey, type TopicPartition } from '../../protocol/topic-partition.js'

export { partitionKey, type TopicPartition }

/** Partitions of one topic, as the consumer protocol and the hooks carry them. */
export interface TopicPartitions {
  readonly topic: string
  readonly partitions: readonly number[]
}

export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

export function compareTopicPartitions(a: TopicPartition, b: TopicPartition): number {
  return compareStrings(a.topic, b.topic) || a.partition - b.partition
}

export function flatten(groups: readonly TopicPartitions[]): TopicPartition[] {
  const out: TopicPartition[] = []
  for (const g of groups) for (const partition of g.partitions) out.push({ topic: g.topic, partition })
  return out
}

/** Groups by topic, topics and partitions ascending, duplicates dropped. */
export function group(partitions: Iterable<TopicPartition>): TopicPartitions[] {
  const byTopic = new Map<string, Set<number>>()
  for (const { topic, partition } of partitions) {
    let set = byTopic.get(topic)
    if (set === undefined) byTopic.set(topic, (set = new Set()))
    set.add(partition)
  }
  return [...byTopic.keys()]
    .sort(compareStrings)
    .map((topic) => ({ topic, partitions: [...(byTopic.get(topic) ?? [])].sort((a, b) => a - b) }))
}

/** A set of partitions keyed by {@link partitionKey}; iteration yields the pairs. */
export class PartitionSet implements Iterable<TopicPartition> {
  private readonly items = new Map<string, TopicPartition>()

  constructor(partitions: Iterable<TopicPartition> = []) {
    for (const tp of partitions) this.add(tp)
  }

  static fromGroups(groups: readonly TopicPartitions[]): PartitionSet {
    return new PartitionSet(flatten(groups))
  }

  get size(): number {
    return this.items.size
  }

  add(tp: TopicPartition): this {
    this.items.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition })
    return this
  }

  delete(tp: TopicPartition): boolean {
    return this.items.delete(partitionKey(tp))
  }

  has(tp: TopicPartition): boolean {
    return this.items.has(partitionKey(tp))
  }

  /** Members of this set that are not in `other`. */
  minus(other: PartitionSet): PartitionSet {
    return new PartitionSet([...this].filter((tp) => !other.has(tp)))
  }

  sorted(): TopicPartition[] {
    return [...this.items.values()].sort(compareTopicPartitions)
  }

  toGroups(): TopicPartitions[] {
    return group(this.items.values())
  }

  [Symbol.iterator](): Iterator<TopicPartition> {
    return this.items.values()
  }
}
