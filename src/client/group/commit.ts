/**
 * Offset commits for the member's current generation.
 *
 * A commit carries the generation it was made in. If the coordinator refuses it because the group
 * moved on (REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, FENCED_INSTANCE_ID), it
 * fails with `GROUP_COMMIT_REBALANCE` and is not resent: under a newer generation the partitions
 * may belong to someone else, and committing for them would skip or repeat their records.
 * Transient failures (coordinator moved, not delivered) are retried by `commit`, but only while the
 * generation is unchanged.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { kafkaError, KafkaErrorCode, type KafkaError } from '../../protocol/errors/kafka-errors.js'
import { OffsetCommit } from '../../protocol/generated/index.js'
import { CommitFailedError } from './errors.js'
import { groupErrorAction, type GroupErrorAction } from './group-errors.js'
import type { HeartbeatIdentity } from './heartbeat.js'
import { hasValidGeneration, type MemberState } from './state.js'
import type { GroupTransport, Timers } from './transport.js'

export interface CommitOffset {
  topic: string
  partition: number
  /** The offset of the next record to consume (last processed + 1). */
  offset: bigint
  /** Stored with the offset and returned by OffsetFetch; at most the broker's offset.metadata.max.bytes. */
  metadata?: string | null
  /** The leader epoch of the last consumed record, if known (KIP-320). */
  leaderEpoch?: number
}

export interface CommitContext {
  transport: GroupTransport
  timers: Timers
  groupId: string
  retryBackoffMs: number
  /** The identity to commit under, or a reason why the member has none now. */
  identity(): HeartbeatIdentity | CommitFailedError
  /** Membership consequences of a refused commit (rejoin, lost, fenced). */
  outcome(action: Exclude<GroupErrorAction, 'none'>, errorCode: number): void
}

export async function commitOffsets(
  ctx: CommitContext,
  offsets: readonly CommitOffset[],
  options: { retryUntil?: number } = {},
): Promise<void> {
  for (const o of offsets) checkOffset(o)
  const identity = ctx.identity()
  if (identity instanceof CommitFailedError) throw identity
  if (offsets.length === 0) return
  for (;;) {
    let failure: KafkaError | undefined
    try {
      failure = await sendOnce(ctx, identity, offsets)
    } catch (err) {
      // Only a request that may go through next time is retried; an encoding error or a closed client will not.
      const retriable = err instanceof BatonError && 'retriable' in err && err.retriable === true
      if (!retriable || !canRetry(ctx, identity, options.retryUntil)) {
        throw new CommitFailedError('GROUP_COMMIT_FAILED', 'the offset commit could not be delivered to the group coordinator; the offsets may not be stored', undefined, err)
      }
      await delay(ctx.timers, ctx.retryBackoffMs)
      continue
    }
    if (failure === undefined) return
    const action = groupErrorAction(failure.errorCode)
    if (action === 'rejoin' || action === 'unknown-member' || action === 'illegal-generation' || action === 'fenced') {
      ctx.outcome(action, failure.errorCode)
      throw new CommitFailedError(
        'GROUP_COMMIT_REBALANCE',
        `the commit for generation ${identity.generationId} was refused because the group has rebalanced (${failure.errorName}); ` +
          'the offsets were not stored, and records after the last stored offset will be delivered again to their next owner',
        failure,
      )
    }
    if ((action === 'coordinator' || action === 'retry') && canRetry(ctx, identity, options.retryUntil)) {
      if (action === 'coordinator') ctx.transport.coordinatorLost()
      await delay(ctx.timers, ctx.retryBackoffMs)
      continue
    }
    throw new CommitFailedError('GROUP_COMMIT_FAILED', `the offset commit failed: ${failure.message}`, failure)
  }
}

/** One OffsetCommit; returns the first partition error, if any. */
async function sendOnce(ctx: CommitContext, identity: HeartbeatIdentity, offsets: readonly CommitOffset[]): Promise<KafkaError | undefined> {
  const byTopic = new Map<string, CommitOffset[]>()
  for (const o of offsets) byTopic.set(o.topic, [...(byTopic.get(o.topic) ?? []), o])
  const res = await ctx.transport.send(OffsetCommit, (version) => ({
    groupId: ctx.groupId,
    generationIdOrMemberEpoch: identity.generationId,
    memberId: identity.memberId,
    groupInstanceId: version >= 7 ? identity.groupInstanceId : null,
    topics: [...byTopic].map(([name, list]) => ({
      name,
      partitions: list.map((o) => ({
        partitionIndex: o.partition,
        committedOffset: o.offset,
        committedLeaderEpoch: o.leaderEpoch ?? -1,
        committedMetadata: o.metadata ?? null,
      })),
    })),
  }))
  for (const topic of res.topics) {
    for (const p of topic.partitions) {
      if (p.errorCode !== KafkaErrorCode.NONE) {
        return kafkaError(p.errorCode, { api: 'OffsetCommit', groupId: ctx.groupId, topic: topic.name, partition: p.partitionIndex })
      }
    }
  }
  return undefined
}

/**
 * Whether a transient failure may be retried. A retry never crosses into another generation: if the
 * member has moved on meanwhile, the commit fails as a rebalance failure instead.
 */
function canRetry(ctx: CommitContext, sentAs: HeartbeatIdentity, retryUntil: number | undefined): boolean {
  if (retryUntil === undefined || ctx.timers.now() >= retryUntil) return false
  const now = ctx.identity()
  if (now instanceof CommitFailedError || now.generationId !== sentAs.generationId || now.memberId !== sentAs.memberId) {
    throw new CommitFailedError(
      'GROUP_COMMIT_REBALANCE',
      `the commit for generation ${sentAs.generationId} could not be completed before the group rebalanced; the offsets were not stored`,
    )
  }
  return true
}

function delay(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms))
}

/**
 * The identity a commit goes out under, or why there is none: during a rebalance the old generation
 * is about to end and the new one has not started; outside the group there is no generation at all.
 * `identity` is undefined once the member knows its membership is lost.
 */
export function commitIdentity(state: MemberState, identity: HeartbeatIdentity | undefined): HeartbeatIdentity | CommitFailedError {
  if (state === 'joining' || state === 'syncing') {
    return new CommitFailedError(
      'GROUP_COMMIT_REBALANCE',
      'the group is rebalancing, so there is no generation to commit under; commit in onRevoke, before partitions are released',
    )
  }
  if (!hasValidGeneration(state) || identity === undefined || identity.generationId < 0) {
    return new CommitFailedError(
      'GROUP_COMMIT_NOT_MEMBER',
      `this member is not in the group (state ${state}), so it cannot commit; its partitions may belong to another member`,
    )
  }
  return identity
}

/** @throws RangeError naming the bad field, before anything is sent. */
function checkOffset(o: CommitOffset): void {
  const where = `commit offset for ${JSON.stringify(o.topic)} partition ${o.partition}`
  if (typeof o.topic !== 'string' || o.topic === '') throw new RangeError(`${where}: topic must be a non-empty string`)
  if (!Number.isInteger(o.partition) || o.partition < 0) throw new RangeError(`${where}: partition must be an integer >= 0`)
  if (typeof o.offset !== 'bigint' || o.offset < 0n) {
    throw new RangeError(`${where}: offset must be a bigint >= 0 (the next offset to consume), got ${String(o.offset)}`)
  }
}
