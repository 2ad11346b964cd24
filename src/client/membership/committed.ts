/**
 * Reading the group's committed offsets (OffsetFetch), where a member resumes each partition it is
 * assigned. With `requireStable` (KIP-447, v7+) the coordinator refuses to answer for a partition
 * whose offsets a still-open transaction is committing, instead of returning the offset from before
 * it; the fetch is retried until the transaction ends, so a transactional consume-process-produce
 * loop never restarts from a stale offset.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { kafkaError, KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetFetch } from '../../protocol/generated/index.js'
import { groupErrorAction } from './error-actions.js'
import { group, partitionKey, type TopicPartition } from './topic-partitions.js'
import type { GroupTransport, Timers } from './transport.js'

export interface CommittedOffset {
  topic: string
  partition: number
  /** The next offset to consume, or null if the group never committed one for this partition. */
  offset: bigint | null
  metadata: string | null
  leaderEpoch: number
}

export interface FetchCommittedOptions {
  /** Wait out transactions still committing offsets (KIP-447). Default true; needs OffsetFetch v7. */
  requireStable?: boolean
  /** How long to keep retrying transient failures. */
  timeoutMs: number
  retryBackoffMs: number
  timers: Timers
}

/** @throws KafkaError for errors that retrying cannot fix (e.g. GROUP_AUTHORIZATION_FAILED), or the last transient one at the deadline. */
export async function fetchCommittedOffsets(
  transport: GroupTransport,
  groupId: string,
  partitions: readonly TopicPartition[],
  options: FetchCommittedOptions,
): Promise<CommittedOffset[]> {
  if (partitions.length === 0) return []
  const deadline = options.timers.now() + options.timeoutMs
  for (;;) {
    let failure: unknown
    try {
      const result = await fetchOnce(transport, groupId, partitions, options.requireStable ?? true)
      if (!(result instanceof BatonError)) return result
      failure = result
    } catch (err) {
      failure = err
    }
    const retriable = failure instanceof BatonError && 'retriable' in failure && failure.retriable === true
    if (!retriable || options.timers.now() >= deadline) throw failure
    await new Promise<void>((resolve) => options.timers.setTimeout(() => resolve(), options.retryBackoffMs))
  }
}

async function fetchOnce(
  transport: GroupTransport,
  groupId: string,
  partitions: readonly TopicPartition[],
  requireStable: boolean,
): Promise<CommittedOffset[] | BatonError> {
  const topics = group(partitions).map((g) => ({ name: g.topic, partitionIndexes: g.partitions }))
  const res = await transport.send(OffsetFetch, (version) =>
    version >= 8
      ? { groups: [{ groupId, topics }], requireStable }
      : { groupId, topics, ...(version >= 7 ? { requireStable } : {}) },
  )
  const batched = res.groups[0]
  const errorCode = batched?.errorCode ?? res.errorCode
  const answered = batched?.topics ?? res.topics
  if (errorCode !== KafkaErrorCode.NONE) return failureOf(transport, errorCode, groupId)
  const byKey = new Map<string, CommittedOffset>()
  for (const t of answered) {
    for (const p of t.partitions) {
      if (p.errorCode !== KafkaErrorCode.NONE) return failureOf(transport, p.errorCode, groupId, t.name, p.partitionIndex)
      byKey.set(partitionKey(t.name, p.partitionIndex), {
        topic: t.name,
        partition: p.partitionIndex,
        offset: p.committedOffset < 0n ? null : p.committedOffset,
        // Kafka answers a partition with no commit with empty metadata: there is none to report.
        metadata: p.committedOffset < 0n ? null : p.metadata,
        leaderEpoch: p.committedLeaderEpoch,
      })
    }
  }
  return partitions.map(
    (tp) => byKey.get(partitionKey(tp.topic, tp.partition)) ?? { topic: tp.topic, partition: tp.partition, offset: null, metadata: null, leaderEpoch: -1 },
  )
}

function failureOf(transport: GroupTransport, errorCode: number, groupId: string, topic?: string, partition?: number): BatonError {
  if (groupErrorAction(errorCode) === 'coordinator') transport.coordinatorLost()
  return kafkaError(errorCode, { api: 'OffsetFetch', groupId, ...(topic === undefined ? {} : { topic }), ...(partition === undefined ? {} : { partition }) })
}
