/**
 * The uniform sticky partitioner (KIP-794) for records with neither a key nor a partition: all of a
 * topic's keyless records go to one partition until about `batchSize` bytes have gone there, then
 * to another partition picked at random. Switching on bytes produced, rather than on a new batch
 * being opened (KIP-480), keeps partitions even when linger or slow brokers make batches small:
 * a slow partition no longer collects more records because its batches fill more slowly.
 */
export class StickyPartitioner {
  private readonly current = new Map<string, { partition: number; bytes: number }>()

  constructor(
    private readonly batchSize: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The partition for a keyless record of `size` bytes on a topic of `count` partitions. */
  partition(topic: string, count: number, size: number): number {
    let sticky = this.current.get(topic)
    if (sticky === undefined || sticky.partition >= count) {
      sticky = { partition: Math.floor(this.random() * count), bytes: 0 }
      this.current.set(topic, sticky)
    } else if (sticky.bytes >= this.batchSize) {
      // Another partition than the one just filled, each of the others equally likely.
      sticky.partition = count === 1 ? 0 : (sticky.partition + 1 + Math.floor(this.random() * (count - 1))) % count
      sticky.bytes = 0
    }
    sticky.bytes += size
    return sticky.partition
  }
}
