/**
 * TxnOffsetCommit, v0-4, answered by the group's coordinator: the offsets wait in the transaction
 * and become the group's committed offsets only when it commits (dropped on abort). From v3 the
 * producer sends the consumer's group metadata and Kafka's KIP-447 checks apply: an unknown
 * member UNKNOWN_MEMBER_ID, a replaced static member FENCED_INSTANCE_ID, a generation that moved
 * on ILLEGAL_GENERATION. A fenced producer epoch is INVALID_PRODUCER_EPOCH, a group not added with
 * AddOffsetsToTxn INVALID_TXN_STATE.
 */
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { TxnOffsetCommit, type TxnOffsetCommitRequest, type TxnOffsetCommitResponseInit } from '../../protocol/generated/index.js'
import { partitionKey } from '../../protocol/topic-partition.js'
import { coordinatesHere, groupCoordinatorOf } from '../groups/broker-context.js'
import { transactionCoordinatorOf } from '../transactions/broker-context.js'
import type { PendingOffset } from '../transactions/metadata.js'
import { defineHandler, type RequestContext } from './handler.js'

function answer(request: TxnOffsetCommitRequest, errorOf: (topic: string, partition: number) => number): TxnOffsetCommitResponseInit {
  return {
    throttleTimeMs: 0,
    topics: request.topics.map((t) => ({ name: t.name, partitions: t.partitions.map((p) => ({ partitionIndex: p.partitionIndex, errorCode: errorOf(t.name, p.partitionIndex) })) })),
  }
}

function commit(request: TxnOffsetCommitRequest, ctx: RequestContext): TxnOffsetCommitResponseInit {
  const all = (errorCode: number) => answer(request, () => errorCode)
  if (!coordinatesHere(ctx, request.groupId)) return all(KafkaErrorCode.NOT_COORDINATOR)
  const groups = groupCoordinatorOf(ctx)
  const groupError = groups.validateTransactionalCommit(request)
  if (groupError !== KafkaErrorCode.NONE) return all(groupError)
  const transactions = transactionCoordinatorOf(ctx)
  const txnError = transactions.checkOffsetCommit(request, request.groupId)
  if (txnError !== null) return all(txnError)
  const errors = new Map<string, number>()
  const accepted: PendingOffset[] = []
  for (const t of request.topics) {
    for (const p of t.partitions) {
      const key = partitionKey(t.name, p.partitionIndex)
      if (ctx.cluster.partition(t.name, p.partitionIndex) === undefined) errors.set(key, KafkaErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
      else if (p.committedMetadata !== null && Buffer.byteLength(p.committedMetadata) > groups.config.offsetMetadataMaxBytes) errors.set(key, KafkaErrorCode.OFFSET_METADATA_TOO_LARGE)
      else accepted.push({ topic: t.name, partition: p.partitionIndex, offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata })
    }
  }
  if (accepted.length > 0) transactions.addPendingOffsets(request, request.groupId, accepted)
  return answer(request, (topic, partition) => errors.get(partitionKey(topic, partition)) ?? KafkaErrorCode.NONE)
}

export default defineHandler({
  api: TxnOffsetCommit,
  minVersion: 0,
  maxVersion: 4,
  handle: (request, ctx) => commit(request, ctx),
  errorResponse: (request, errorCode) => answer(request, () => errorCode),
})
