/**
 * Produce, v3-11 (magic v2 record batches only, as Kafka 4 requires). acks 0, 1 and -1; with one log
 * per partition, -1 and 1 both answer once the batch is appended, and -1 also fsyncs when the broker
 * was started with `fsync`. acks=0 gets no response, as in Kafka. From v10, NOT_LEADER_OR_FOLLOWER
 * carries the current leader and its endpoint (KIP-951) so clients can skip a metadata round trip.
 * Transactional batches are checked against the transaction coordinator before they are appended
 * (KIP-890's verification, in process): the producer must hold the transactional id with its
 * current epoch (INVALID_PRODUCER_EPOCH when fenced) and have added the partition
 * (INVALID_TXN_STATE otherwise).
 * Leaves out: the timeout.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import {
  Produce,
  type ProduceRequest,
  type ProduceRequestPartitionProduceData,
  type ProduceResponseInit,
  type ProduceResponsePartitionProduceResponseInit,
} from '../../protocol/generated/index.js'
import { appendProduced, type TransactionVerifier } from '../append.js'
import { transactionCoordinatorOf } from '../transactions/broker-context.js'
import type { Partition, Topic } from '../cluster.js'
import { defineHandler, leaderPartition, type RequestContext } from './handler.js'

function failed(index: number, errorCode: number, errorMessage: string | null, ctx: RequestContext): ProduceResponsePartitionProduceResponseInit {
  return { index, errorCode, baseOffset: -1n, errorMessage: ctx.version >= 8 ? errorMessage : null }
}

function verifierFor(transactionalId: string | null, topic: string, partition: number, ctx: RequestContext): TransactionVerifier | null {
  if (transactionalId === null) return null
  return (header) => transactionCoordinatorOf(ctx).verifyProduce(transactionalId, header, topic, partition)
}

function produceTo(
  topic: Topic | undefined,
  p: ProduceRequestPartitionProduceData,
  transactionalId: string | null,
  ctx: RequestContext,
  touched: Set<Partition>,
): ProduceResponsePartitionProduceResponseInit {
  const partition = leaderPartition(ctx, topic, p.index)
  if (typeof partition === 'number') {
    const response = failed(p.index, partition, null, ctx)
    const current = topic?.partitions[p.index]
    if (ctx.version >= 10 && current !== undefined) response.currentLeader = { leaderId: current.leader, leaderEpoch: current.leaderEpoch }
    return response
  }
  const result = appendProduced(partition, p.records, Date.now(), verifierFor(transactionalId, partition.topic.name, partition.index, ctx))
  if (result.errorCode !== 0) return failed(p.index, result.errorCode, result.errorMessage, ctx)
  touched.add(partition)
  return {
    index: p.index,
    errorCode: 0,
    baseOffset: BigInt(result.baseOffset),
    logAppendTimeMs: BigInt(result.logAppendTime),
    logStartOffset: BigInt(partition.log.logStartOffset),
  }
}

/** KIP-951: endpoints of the leaders named in NOT_LEADER_OR_FOLLOWER answers. */
function leaderEndpoints(response: ProduceResponseInit, ctx: RequestContext): ProduceResponseInit {
  if (ctx.version < 10) return response
  const ids = new Set<number>()
  for (const t of response.responses) for (const p of t.partitionResponses) if (p.currentLeader?.leaderId !== undefined) ids.add(p.currentLeader.leaderId)
  const nodeEndpoints = [...ids].flatMap((id) => {
    const node = ctx.cluster.node(id)
    return node === undefined ? [] : [{ nodeId: node.nodeId, host: node.host, port: node.port, rack: null }]
  })
  return { ...response, nodeEndpoints }
}

function everyPartition(request: ProduceRequest, errorCode: number, message: string | null, ctx: RequestContext): ProduceResponseInit {
  return {
    responses: request.topicData.map((t) => ({ name: t.name, partitionResponses: t.partitionData.map((p) => failed(p.index, errorCode, message, ctx)) })),
  }
}

export default defineHandler({
  api: Produce,
  minVersion: 3,
  maxVersion: 11,
  handle: (request, ctx) => {
    const { acks } = request
    if (acks !== -1 && acks !== 0 && acks !== 1) {
      return everyPartition(request, KafkaErrorCode.INVALID_REQUIRED_ACKS, `acks must be -1, 0 or 1, got ${acks}`, ctx)
    }
    const touched = new Set<Partition>()
    const responses = request.topicData.map((t) => {
      const topic = ctx.cluster.topic(t.name)
      return { name: t.name, partitionResponses: t.partitionData.map((p) => produceTo(topic, p, request.transactionalId, ctx, touched)) }
    })
    if (acks === -1 && ctx.options.fsync) for (const partition of touched) partition.log.sync()
    return acks === 0 ? null : leaderEndpoints({ responses }, ctx)
  },
  errorResponse: (request, errorCode, ctx) => (request.acks === 0 ? null : everyPartition(request, errorCode, null, ctx)),
})
