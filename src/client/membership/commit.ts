/**
 * Offset commits for the member's current generation.
 *
 * A commit goes out under the generation the member holds. The coordinator refuses it when the
 * group has moved on: UNKNOWN_MEMBER_ID and FENCED_INSTANCE_ID end the membership, and so does
 * ILLEGAL_GENERATION while the member still holds that generation outside a rebalance; those fail
 * with `GROUP_COMMIT_REBALANCE` and are never resent, since the partitions may belong to someone
 * else by now. A refusal that a rebalance the member takes part in caused (REBALANCE_IN_PROGRESS
 * while the coordinator completes it, ILLEGAL_GENERATION once it has bumped the generation, or a
 * commit asked for while the member syncs, when no generation accepts commits) is
 * different: the member keeps its partitions through a cooperative rebalance (KIP-429) until it
 * revokes them, after the rebalance. So `commit` (not `commitAsync`) waits for the rebalance to
 * complete and sends the offsets again under the new generation, Kafka's documented remedy, but
 * only for partitions the member has owned without a break since the commit was asked for (the
 * member decides that: `afterRebalance`). Transient failures (coordinator moved, not delivered) are
 * retried the same way: within the generation, or after the rebalance that ended it.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { kafkaError, KafkaErrorCode, type KafkaError } from '../../protocol/errors/kafka-errors.js'
import { OffsetCommit } from '../../protocol/generated/index.js'
import { CommitFailedError } from './errors.js'
import { groupErrorAction, type GroupErrorAction } from './error-actions.js'
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

/** What a commit that a rebalance got in the way of sends once the rebalance has completed. */
export interface Resend {
  /** The member's identity in the new generation. */
  readonly identity: HeartbeatIdentity
  /** Offsets of partitions owned without a break since the commit was asked for. */
  readonly offsets: readonly CommitOffset[]
  /** The others: they are not resent, and the commit fails for them once the rest is stored. */
  readonly dropped: readonly CommitOffset[]
}

export interface CommitContext {
  transport: GroupTransport
  timers: Timers
  groupId: string
  retryBackoffMs: number
  /** The identity to commit under, or a reason why the member has none now (`GROUP_COMMIT_REBALANCE` while it is rebalancing). */
  identity(): HeartbeatIdentity | CommitFailedError
  /**
   * Whether the member still holds `sentAs`, outside a rebalance. Only then does a refusal of a
   * commit made under it speak for the membership itself (lost, or a rebalance to join).
   */
  holds(sentAs: HeartbeatIdentity): boolean
  /**
   * Waits until the rebalance that caused `refusal` has completed; resolves with what to resend,
   * or with a CommitFailedError saying why nothing can be (the partitions changed hands, the
   * membership was lost, the member is leaving, `until` passed).
   */
  afterRebalance(offsets: readonly CommitOffset[], until: number, refusal: CommitFailedError): Promise<Resend | CommitFailedError>
  /** Membership consequences of a refused commit (rejoin, lost, fenced). */
  outcome(action: Exclude<GroupErrorAction, 'none'>, errorCode: number): void
}

/**
 * Commits `offsets`. With `retryUntil`, transient failures are retried and a rebalance in the way is
 * waited out until then; without it, the commit is sent once (or not at all, during a rebalance).
 * @throws CommitFailedError
 */
export async function commitOffsets(
  ctx: CommitContext,
  offsets: readonly CommitOffset[],
  options: { retryUntil?: number } = {},
): Promise<void> {
  for (const o of offsets) checkOffset(o)
  let identity = ctx.identity()
  if (offsets.length === 0) {
    if (identity instanceof CommitFailedError) throw identity
    return
  }
  let pending = offsets
  const dropped: CommitOffset[] = []
  for (;;) {
    if (identity instanceof CommitFailedError) {
      // Only a rebalance can be waited out, and only by a commit that may retry.
      if (identity.code !== 'GROUP_COMMIT_REBALANCE' || options.retryUntil === undefined) throw identity
      const resend = await ctx.afterRebalance(pending, options.retryUntil, identity)
      if (resend instanceof CommitFailedError) throw resend
      identity = resend.identity
      pending = resend.offsets
      dropped.push(...resend.dropped)
      if (pending.length === 0) break
    }
    let failure: KafkaError | undefined
    try {
      failure = await sendOnce(ctx, identity, pending)
    } catch (err) {
      // Only a request that may go through next time is retried; an encoding error or a closed client will not.
      const retriable = err instanceof BatonError && 'retriable' in err && err.retriable === true
      const next = retriable ? afterTransient(ctx, identity, options.retryUntil) : 'give-up'
      if (next === 'give-up') {
        throw new CommitFailedError('GROUP_COMMIT_FAILED', 'the offset commit could not be delivered to the group coordinator; the offsets may not be stored', undefined, err)
      }
      if (next === 'rebalanced') identity = rebalancedMeanwhile(identity, err)
      else await delay(ctx.timers, ctx.retryBackoffMs)
      continue
    }
    if (failure === undefined) break
    const action = groupErrorAction(failure.errorCode)
    if (action === 'rejoin' || action === 'unknown-member' || action === 'illegal-generation' || action === 'fenced' || action === 'fenced-epoch' || action === 'stale-epoch') {
      const held = ctx.holds(identity)
      // A late refusal says nothing about a membership the member has since moved on from. A stale
      // epoch (KIP-848) says only that the member's next heartbeat brings a newer one.
      if (held && action !== 'stale-epoch') ctx.outcome(action, failure.errorCode)
      const refusal = new CommitFailedError(
        'GROUP_COMMIT_REBALANCE',
        `the commit for generation ${identity.generationId} was refused because the group has rebalanced (${failure.errorName}); ` +
          'the offsets were not stored, and records after the last stored offset will be delivered again to their next owner',
        failure,
      )
      // Refusals that end the membership are final; one that a rebalance caused is resent after it.
      if (action === 'rejoin' || action === 'stale-epoch' || (action === 'illegal-generation' && !held)) identity = refusal
      else throw refusal
      continue
    }
    if (action === 'coordinator' || action === 'retry') {
      const next = afterTransient(ctx, identity, options.retryUntil)
      if (next !== 'give-up') {
        if (action === 'coordinator') ctx.transport.coordinatorLost()
        if (next === 'rebalanced') identity = rebalancedMeanwhile(identity, failure)
        else await delay(ctx.timers, ctx.retryBackoffMs)
        continue
      }
    }
    throw new CommitFailedError('GROUP_COMMIT_FAILED', `the offset commit failed: ${failure.message}`, failure)
  }
  if (dropped.length > 0) {
    throw new CommitFailedError(
      'GROUP_COMMIT_REBALANCE',
      `the offsets for ${dropped.map((o) => `${o.topic}[${o.partition}]`).join(', ')} were not stored: the group rebalanced before they could be, ` +
        'and this member did not own those partitions throughout, so they were not sent under the new generation',
    )
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
 * What to do after a transient failure: retry within the generation, wait out the rebalance that
 * ended it meanwhile (the commit then goes the way of a refused one), or give up at the deadline.
 */
function afterTransient(ctx: CommitContext, sentAs: HeartbeatIdentity, retryUntil: number | undefined): 'retry' | 'rebalanced' | 'give-up' {
  if (retryUntil === undefined || ctx.timers.now() >= retryUntil) return 'give-up'
  // A member rejoining still commits under the generation it holds: retry under it. Should the
  // rebalance complete first, the refusal that brings is resent under the new generation.
  const now = ctx.identity()
  if (now instanceof CommitFailedError || now.generationId !== sentAs.generationId || now.memberId !== sentAs.memberId) return 'rebalanced'
  return 'retry'
}

function rebalancedMeanwhile(sentAs: HeartbeatIdentity, cause: unknown): CommitFailedError {
  return new CommitFailedError(
    'GROUP_COMMIT_REBALANCE',
    `the commit for generation ${sentAs.generationId} could not be completed before the group rebalanced; the offsets were not stored`,
    undefined,
    cause,
  )
}

function delay(timers: Timers, ms: number): Promise<void> {
  return new Promise((resolve) => timers.setTimeout(resolve, ms))
}

/**
 * The identity a commit goes out under, or why there is none. While a member rejoins (`joining`,
 * its JoinGroup not yet answered), the coordinator is preparing the rebalance and still accepts
 * commits under the generation the member holds, as Kafka's does: a stop or a revocation then
 * commits at once instead of waiting for the rebalance, which can take a crashed member's whole
 * session timeout. Once the join is answered (`syncing`) the new generation accepts none until
 * SyncGroup completes. Outside the group there is no generation at all. `identity` is undefined
 * once the member knows its membership is lost.
 */
export function commitIdentity(state: MemberState, identity: HeartbeatIdentity | undefined): HeartbeatIdentity | CommitFailedError {
  const rejoiningWithGeneration = state === 'joining' && identity !== undefined && identity.generationId >= 0
  if (state === 'syncing' || (state === 'joining' && !rejoiningWithGeneration)) {
    return new CommitFailedError(
      'GROUP_COMMIT_REBALANCE',
      'the group is rebalancing, so no generation accepts commits until it completes; commit() waits for that, commitAsync() does not',
    )
  }
  if (rejoiningWithGeneration) return identity
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
