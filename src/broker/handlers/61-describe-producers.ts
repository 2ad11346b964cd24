/**
 * DescribeProducers, v0 (KIP-664): the producers a partition's leader keeps state for, with their
 * epoch, last sequence and timestamp, and the first offset of their open transaction (-1 if none).
 * Leaves out: the coordinator epoch of the last marker (always -1).
 */
import { DescribeProducers, type DescribeProducersResponsePartitionResponseInit } from '../../protocol/generated/index.js'
import type { Topic } from '../cluster.js'
import { defineHandler, leaderPartition, type RequestContext } from './handler.js'

function describe(topic: Topic | undefined, index: number, ctx: RequestContext): DescribeProducersResponsePartitionResponseInit {
  const partition = leaderPartition(ctx, topic, index)
  if (typeof partition === 'number') return { partitionIndex: index, errorCode: partition, errorMessage: null, activeProducers: [] }
  return {
    partitionIndex: index,
    errorCode: 0,
    errorMessage: null,
    activeProducers: partition.producers.describe().map((p) => ({
      producerId: p.producerId,
      producerEpoch: p.producerEpoch,
      lastSequence: p.lastSequence,
      lastTimestamp: BigInt(p.lastTimestamp),
      coordinatorEpoch: -1,
      currentTxnStartOffset: BigInt(partition.transactions.openTransaction(p.producerId)?.firstOffset ?? -1),
    })),
  }
}

export default defineHandler({
  api: DescribeProducers,
  minVersion: 0,
  maxVersion: 0,
  handle: (request, ctx) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => {
      const topic = ctx.cluster.topic(t.name)
      return { name: t.name, partitions: t.partitionIndexes.map((i) => describe(topic, i, ctx)) }
    }),
  }),
  errorResponse: (request, errorCode) => ({
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitionIndexes.map((partitionIndex) => ({ partitionIndex, errorCode, errorMessage: null, activeProducers: [] })) })),
  }),
})
