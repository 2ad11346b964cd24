/**
 * Which node coordinates a group. Kafka hashes the group id onto a partition of __consumer_offsets
 * and the leader of that partition is the coordinator; here partition p is led by node p mod n, so
 * with several nodes different groups land on different nodes and clients must follow
 * FindCoordinator (and NOT_COORDINATOR) as they do against a real cluster.
 */

/** Java's String.hashCode over UTF-16 code units, which Kafka's partitionFor uses. */
export function javaStringHash(value: string): number {
  let hash = 0
  for (let i = 0; i < value.length; i++) hash = (Math.imul(hash, 31) + value.charCodeAt(i)) | 0
  return hash
}

/** Kafka's Utils.abs: like Math.abs, except that the most negative int maps to 0. */
function kafkaAbs(n: number): number {
  return n === -0x80000000 ? 0 : Math.abs(n)
}

/** The __consumer_offsets partition Kafka would keep this group's offsets in. */
export function offsetsPartitionFor(groupId: string, partitions: number): number {
  return kafkaAbs(javaStringHash(groupId)) % partitions
}

export function coordinatorNodeFor(groupId: string, partitions: number, nodeCount: number): number {
  return offsetsPartitionFor(groupId, partitions) % nodeCount
}
