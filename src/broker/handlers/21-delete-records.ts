/**
 * DeleteRecords, v0-2: moves a partition's log start offset (offset -1 means the high watermark),
 * deleting whole segments that fall below it; answers with the new low watermark. Only the leader
 * serves it, as in Kafka.
 * Leaves out: the timeout (nothing to replicate).
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { DeleteRecords, type DeleteRecordsRequestDeleteRecordsPartition } from '../../protocol/generated/index.js'
import type { Topic } from '../cluster.js'
import { defineHandler, leaderPartition, type RequestContext } from './handler.js'

function deleteBefore(topic: Topic | undefined, p: DeleteRecordsRequestDeleteRecordsPartition, ctx: RequestContext) {
  const partition = leaderPartition(ctx, topic, p.partitionIndex)
  if (typeof partition === 'number') return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: partition }
  const { log } = partition
  const target = p.offset === -1n ? log.highWatermark : Number(p.offset)
  if (target < 0 || target > log.highWatermark) return { partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode: KafkaErrorCode.OFFSET_OUT_OF_RANGE }
  log.deleteRecordsBefore(target)
  partition.transactions.trimBelow(log.logStartOffset)
  return { partitionIndex: p.partitionIndex, lowWatermark: BigInt(log.logStartOffset), errorCode: 0 }
}

export default defineHandler({
  api: DeleteRecords,
  minVersion: 0,
  maxVersion: 2,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const topic = ctx.cluster.topic(t.name)
      return { name: t.name, partitions: t.partitions.map((p) => deleteBefore(topic, p, ctx)) }
    }),
  }),
  errorResponse: (request, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, lowWatermark: -1n, errorCode })) })),
  }),
})
