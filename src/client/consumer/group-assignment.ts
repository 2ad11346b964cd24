/**
 * What the member's hooks do to the fetching consumer under a `GroupConsumer`:
 * - assigned: read the committed offsets, `assign` the partitions there (autoOffsetReset when none),
 *   held paused until the user's `onAssign` settles, so no record of a partition is handed out
 *   before the application knows it owns it; what was read, metadata included, stays available
 *   as `resumedFrom` while the partition is owned;
 * - revoked or lost: stop handing the partitions out at once, drop them from the fetcher (a fetch
 *   already under way for them is discarded by its generation check), then run the user's hook;
 *   `onRevoke` can still commit, since the member holds the generation until it settles.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import type { CommittedOffset } from '../membership/committed.js'
import type { RebalanceHook } from '../membership/hooks.js'
import type { GroupMembership } from '../membership/group-membership.js'
import { flatten, group, partitionKey, type TopicPartitions } from '../membership/topic-partitions.js'
import type { Consumer, PartitionAssignment, TopicPartition } from './consumer.js'
import { AssignmentFailedError } from './group-consumer-errors.js'
import type { GroupConsumerConfig } from './group-consumer-options.js'

/** One ownership of a partition: a new object per assignment, so a late revocation cannot remove a newer one. */
export interface Owned {
  readonly topic: string
  readonly partition: number
  /** What the group had committed for the partition when it was assigned: where fetching started, and the previous owner's metadata. */
  readonly resumedFrom: CommittedOffset
  revoking: boolean
  /** Held paused until the user's onAssign has settled. */
  held: boolean
  /** Seeks so far: what a batch or record handed out before a seek is recognised by. */
  seeks: number
}

/** Where a batch handed out came from, for `isStale`. */
export interface HandedOut {
  readonly entry: Owned
  readonly seeks: number
}

export interface Consumed {
  offset: bigint
  leaderEpoch: number
}

/** The group consumer's state and parts that the hooks work on. */
export interface AssignmentContext {
  readonly member: GroupMembership
  readonly consumer: Consumer
  readonly hooks: GroupConsumerConfig['hooks']
  readonly owned: Map<string, Owned>
  readonly userPaused: Set<string>
  readonly consumed: Map<string, Consumed>
  /** Whether the consumer is closing (nothing is resumed or reported then). */
  closing(): boolean
  /** Fails the consumer with `error` (reported, and the consumer closed). */
  fail(error: BatonError): void
}

export async function assigned(ctx: AssignmentContext, partitions: TopicPartition[]): Promise<void> {
  if (partitions.length > 0) {
    let committed: CommittedOffset[]
    try {
      committed = await ctx.member.committed(partitions)
    } catch (error) {
      ctx.fail(new AssignmentFailedError({ cause: error }))
      return
    }
    const start = new Map(committed.map((c) => [partitionKey(c), c]))
    const added = new Map<string, Owned>(
      partitions.map((tp) => {
        const resumedFrom = start.get(partitionKey(tp)) ?? { topic: tp.topic, partition: tp.partition, offset: null, metadata: null, leaderEpoch: -1 }
        return [partitionKey(tp), { topic: tp.topic, partition: tp.partition, resumedFrom, revoking: false, held: true, seeks: 0 }]
      }),
    )
    const wanted: PartitionAssignment[] = [...ctx.owned.values()].filter((o) => !o.revoking && !added.has(partitionKey(o))).map(({ topic, partition }) => ({ topic, partition }))
    for (const tp of partitions) {
      const offset = start.get(partitionKey(tp))?.offset
      wanted.push(offset === null || offset === undefined ? { topic: tp.topic, partition: tp.partition } : { topic: tp.topic, partition: tp.partition, offset })
    }
    try {
      await ctx.consumer.assign(wanted)
    } catch (error) {
      if (!ctx.closing()) ctx.fail(new AssignmentFailedError({ cause: error }))
      return
    }
    // Held until the application has heard of them; the buffer fills meanwhile, so the first
    // records are there as soon as the hook settles.
    ctx.consumer.pause(partitions, { prefetch: true })
    for (const [key, entry] of added) {
      ctx.owned.set(key, entry)
      ctx.consumed.delete(key)
    }
    try {
      await ctx.hooks?.onAssign?.(group(partitions))
    } finally {
      const release: TopicPartition[] = []
      for (const [key, entry] of added) {
        if (ctx.owned.get(key) !== entry) continue
        entry.held = false
        if (!ctx.userPaused.has(key)) release.push(entry)
      }
      if (release.length > 0 && !ctx.closing()) ctx.consumer.resume(release)
    }
    return
  }
  await ctx.hooks?.onAssign?.([])
}

/** Revoked or lost: nothing more of these partitions is handed out; the user's hook runs with them still counted as owned. */
export async function released(ctx: AssignmentContext, groups: TopicPartitions[], hook: RebalanceHook | undefined): Promise<void> {
  const entries: Owned[] = []
  for (const tp of flatten(groups)) {
    const entry = ctx.owned.get(partitionKey(tp))
    if (entry === undefined) continue
    entry.revoking = true
    entries.push(entry)
  }
  const keep = [...ctx.owned.values()].filter((o) => !o.revoking).map(({ topic, partition }) => ({ topic, partition }))
  const removal = ctx.consumer.assign(keep).catch(() => undefined)
  try {
    await hook?.(groups)
  } finally {
    await removal
    for (const entry of entries) {
      const key = partitionKey(entry)
      if (ctx.owned.get(key) !== entry) continue
      ctx.owned.delete(key)
      ctx.consumed.delete(key)
      ctx.userPaused.delete(key)
    }
  }
}
