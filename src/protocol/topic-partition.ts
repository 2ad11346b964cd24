/**
 * A partition of a topic, the unit every layer hands around, and the one key under which baton
 * keeps per-partition state in a `Map`. Declared once here so that the client, the broker and the
 * framework agree on both.
 */

export interface TopicPartition {
  readonly topic: string
  readonly partition: number
}

/**
 * A collision-free map key for a partition. The partition number comes first and contains no `@`,
 * so the key is unambiguous whatever characters a (possibly foreign) client put in a topic name.
 */
export function partitionKey(tp: TopicPartition): string
export function partitionKey(topic: string, partition: number): string
export function partitionKey(topicOrPartition: TopicPartition | string, partition?: number): string {
  return typeof topicOrPartition === 'string' ? `${partition}@${topicOrPartition}` : `${topicOrPartition.partition}@${topicOrPartition.topic}`
}
