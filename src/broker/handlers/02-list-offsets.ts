/**
 * ListOffsets, v1-10: latest (-1; the last stable offset for read_committed, and lookups by
 * timestamp find nothing at or past it, as in Kafka), earliest (-2), max
 * timestamp (-3, KIP-734), earliest local (-4, same as earliest without tiered storage), latest
 * tiered (-5, none: offset -1), and by timestamp. Leader epochs are checked and reported (KIP-320).
 * Leaves out: v0's list of old-style offsets, the timeout.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { ListOffsets, type ListOffsetsRequestListOffsetsPartition, type ListOffsetsResponseListOffsetsPartitionResponseInit } from '../../protocol/generated/index.js'
import type { Partition, Topic } from '../cluster.js'
import { offsetForTimestamp, offsetOfMaxTimestamp, type OffsetAndTimestamp } from '../offsets.js'
import { defineHandler, leaderPartition, type RequestContext } from './handler.js'

const LATEST = -1
const EARLIEST = -2
const MAX_TIMESTAMP = -3
const EARLIEST_LOCAL = -4
const LATEST_TIERED = -5
const NONE: OffsetAndTimestamp = { offset: -1, timestamp: -1 }

/** As Kafka: a lookup by timestamp finds only offsets the isolation level may read. */
function fetchable(found: OffsetAndTimestamp | null, lastFetchable: number): OffsetAndTimestamp {
  return found === null || found.offset >= lastFetchable ? NONE : found
}

function lookUp(partition: Partition, timestamp: number, isolationLevel: number): OffsetAndTimestamp | null {
  const { log } = partition
  const lastFetchable = isolationLevel === 1 ? partition.lastStableOffset : log.highWatermark
  switch (timestamp) {
    case LATEST:
      return { offset: lastFetchable, timestamp: -1 }
    case EARLIEST:
    case EARLIEST_LOCAL:
      return { offset: log.logStartOffset, timestamp: -1 }
    case MAX_TIMESTAMP:
      return fetchable(offsetOfMaxTimestamp(log), lastFetchable)
    case LATEST_TIERED:
      return NONE
    default:
      return timestamp >= 0 ? fetchable(offsetForTimestamp(log, timestamp), lastFetchable) : null
  }
}

function answer(topic: Topic | undefined, p: ListOffsetsRequestListOffsetsPartition, isolationLevel: number, ctx: RequestContext): ListOffsetsResponseListOffsetsPartitionResponseInit {
  const base = { partitionIndex: p.partitionIndex, timestamp: -1n, offset: -1n }
  const partition = leaderPartition(ctx, topic, p.partitionIndex)
  if (typeof partition === 'number') return { ...base, errorCode: partition }
  if (p.currentLeaderEpoch >= 0 && p.currentLeaderEpoch !== partition.leaderEpoch) {
    const errorCode = p.currentLeaderEpoch > partition.leaderEpoch ? KafkaErrorCode.UNKNOWN_LEADER_EPOCH : KafkaErrorCode.FENCED_LEADER_EPOCH
    return { ...base, errorCode }
  }
  const found = lookUp(partition, Number(p.timestamp), isolationLevel)
  if (found === null) return { ...base, errorCode: KafkaErrorCode.INVALID_REQUEST }
  return {
    ...base,
    errorCode: 0,
    timestamp: BigInt(found.timestamp),
    offset: BigInt(found.offset),
    leaderEpoch: ctx.version >= 4 ? partition.leaderEpoch : -1,
  }
}

export default defineHandler({
  api: ListOffsets,
  minVersion: 1,
  maxVersion: 10,
  handle: (request, ctx) => ({
    topics: request.topics.map((t) => {
      const topic = ctx.cluster.topic(t.name)
      return { name: t.name, partitions: t.partitions.map((p) => answer(topic, p, request.isolationLevel, ctx)) }
    }),
  }),
  errorResponse: (request, errorCode) => ({
    topics: request.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode, timestamp: -1n, offset: -1n })),
    })),
  }),
})
