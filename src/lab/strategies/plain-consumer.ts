/**
 * The consumer loop most applications write on a bare Kafka client, shared by the `naive` and
 * `commit-on-revoke` strategies: each partition's records are handled one at a time, in order,
 * and after each one its offset is committed synchronously ("manual commit after each record").
 *
 * What the client itself does on a revocation is here too, because every client does it: it stops
 * handing out records of the revoked partitions and drops those it had fetched for them. What it
 * cannot do is stop a handler that is already running; the record being worked on finishes, its
 * effect happens, and its commit is refused or lands too late. The strategies differ only in the
 * revoke hook they give this loop.
 */
import { partitionKey } from '../../client/index.js'
import type { FetchedBatch, FetchedRecord, TopicPartition } from '../../processing/index.js'
import { LabConsumer, type RebalanceProtocolChoice } from '../members/lab-consumer.js'
import type { LabMember, MemberContext } from './types.js'

/** Per partition: what is fetched and waiting, and how far handling got. */
export interface PartitionProgress {
  readonly topic: string
  readonly partition: number
  readonly queue: FetchedRecord[]
  /** The offset after the last record whose handler finished: what a commit may cover. */
  processedUpTo: bigint | undefined
  revoked: boolean
  running: boolean
  paused: boolean
}

export interface PlainConsumerOptions {
  protocol: RebalanceProtocolChoice
  /**
   * The application's revoke hook, if any, called with the revoked partitions' progress while the
   * member's generation is still valid. Handlers still running are not waited for.
   */
  onRevoke?: (revoked: readonly PartitionProgress[], consumer: LabConsumer) => Promise<void>
}

// Fetching pauses when this many records wait in a partition's queue, so memory stays bounded.
const MAX_QUEUED = 500

export function plainMember(context: MemberContext, options: PlainConsumerOptions): LabMember {
  const consumer = new LabConsumer({
    consumerId: context.consumerId,
    bootstrap: context.bootstrap,
    groupId: context.groupId,
    protocol: options.protocol,
    sessionTimeoutMs: context.timeouts.sessionTimeoutMs,
    rebalanceTimeoutMs: context.timeouts.rebalanceTimeoutMs,
    heartbeatIntervalMs: context.timeouts.heartbeatIntervalMs,
    ownership: context.ownership,
    onError: context.onError,
  })
  const partitions = new Map<string, PartitionProgress>()

  const revoke = async (tps: readonly TopicPartition[], hook: boolean): Promise<void> => {
    const revoked: PartitionProgress[] = []
    for (const tp of tps) {
      const progress = partitions.get(partitionKey(tp))
      if (progress === undefined) continue
      progress.revoked = true
      progress.queue.length = 0
      partitions.delete(partitionKey(tp))
      revoked.push(progress)
    }
    if (hook && options.onRevoke !== undefined) await options.onRevoke(revoked, consumer)
  }

  const drive = async (progress: PartitionProgress): Promise<void> => {
    if (progress.running) return
    progress.running = true
    try {
      for (let record = progress.queue.shift(); record !== undefined && !progress.revoked; record = progress.queue.shift()) {
        if (progress.paused && progress.queue.length <= MAX_QUEUED / 2) {
          progress.paused = false
          consumer.resume([progress])
        }
        await context.sink.handle(context.consumerId, progress.partition, record.offset, record.value)
        progress.processedUpTo = record.offset + 1n
        try {
          await consumer.commit([{ topic: progress.topic, partition: progress.partition, offset: record.offset + 1n }])
        } catch (error) {
          // The report's symptom: the commit is refused because the group moved on; the record's effect already happened.
          context.onError(error)
        }
      }
    } finally {
      progress.running = false
    }
  }

  return {
    consumerId: context.consumerId,
    consumer,
    start: () =>
      consumer.start([context.topic], {
        onAssign: (tps) => {
          for (const tp of tps) {
            partitions.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition, queue: [], processedUpTo: undefined, revoked: false, running: false, paused: false })
          }
          return Promise.resolve()
        },
        onRevoke: (tps) => revoke(tps, true),
        onLost: (tps) => revoke(tps, false),
        onBatch: (batch: FetchedBatch) => {
          const progress = partitions.get(partitionKey(batch))
          if (progress === undefined) return
          progress.queue.push(...batch.records)
          if (!progress.paused && progress.queue.length >= MAX_QUEUED) {
            progress.paused = true
            consumer.pause([progress])
          }
          void drive(progress)
        },
        onFatal: (error) => context.onError(error),
      }),
    stop: () => consumer.close(),
    crash: () => {
      consumer.crash()
      for (const progress of partitions.values()) {
        progress.revoked = true
        progress.queue.length = 0
      }
      partitions.clear()
    },
  }
}
