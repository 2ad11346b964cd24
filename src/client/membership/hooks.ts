/**
 * Running the user's rebalance hooks: awaited in order, bounded by the rebalance timeout.
 *
 * The bound exists because the coordinator will not wait either: a member that does not rejoin
 * within the rebalance timeout is evicted, and its partitions go to others anyway. So a hook that
 * overruns is reported (RebalanceHookTimeoutError) and the member goes on; the hook itself keeps
 * running, which is why the hook should watch for the time it has.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import { RebalanceHookError, RebalanceHookTimeoutError, type RebalanceHookName } from './errors.js'
import type { TopicPartitions } from './topic-partitions.js'
import type { Timers } from './transport.js'

export type RebalanceHook = (partitions: TopicPartitions[]) => void | Promise<void>

export interface RebalanceHooks {
  /**
   * Partitions are about to be taken away while this member's generation is still valid, so a
   * commit made here succeeds. The rebalance waits until this settles (up to the rebalance timeout).
   */
  onRevoke?: RebalanceHook
  /** Partitions now owned. Under the cooperative protocol, only the newly added ones. Called on every completed rebalance, possibly with none. */
  onAssign?: RebalanceHook
  /** Partitions already lost (fenced, session expired): another member may own them, so do not commit for them. */
  onLost?: RebalanceHook
}

/** Calls the hook and waits for it, up to `timeoutMs`; failures go to `report`, never thrown. */
export async function runHook(
  name: RebalanceHookName,
  hook: RebalanceHook | undefined,
  partitions: TopicPartitions[],
  timeoutMs: number,
  timers: Timers,
  report: (error: BatonError) => void,
): Promise<void> {
  if (hook === undefined) return
  let handle: unknown
  const timedOut = new Promise<'timeout'>((resolve) => {
    handle = timers.setTimeout(() => resolve('timeout'), timeoutMs)
  })
  const settled = (async () => {
    try {
      await hook(partitions)
    } catch (err) {
      report(new RebalanceHookError(name, err))
    }
    return 'done' as const
  })()
  try {
    if ((await Promise.race([settled, timedOut])) === 'timeout') report(new RebalanceHookTimeoutError(name, timeoutMs))
  } finally {
    timers.clearTimeout(handle)
  }
}
