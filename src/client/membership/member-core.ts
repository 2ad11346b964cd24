/**
 * What the classic member (member.ts) and the KIP-848 member (kip848/member.ts) do the same way,
 * written once: the loop that drives either state machine, running the user's hooks, leaving with
 * what is still owned, and the commit calls with their wait for a refused commit's resend. The
 * protocols differ in how a member joins and learns its assignment; these do not.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { commitOffsets, type CommitContext, type CommitOffset, type Resend } from './commit.js'
import { fetchCommittedOffsets, type CommittedOffset } from './committed.js'
import { ClientClosedError } from '../errors.js'
import { CommitFailedError, MembershipError } from './errors.js'
import { runHook, type RebalanceHooks } from './hooks.js'
import type { TopicPartition, TopicPartitions } from './topic-partitions.js'
import type { GroupTransport, Timers } from './transport.js'
import type { Waker } from './waker.js'

/** The resolved options both members have. */
export interface MemberBasics {
  readonly groupId: string
  readonly transport: GroupTransport
  readonly timers: Timers
  readonly retryBackoffMs: number
  readonly rebalanceTimeoutMs: number
  readonly hooks: RebalanceHooks
  readonly report: (error: BatonError) => void
}

export type MemberHookName = 'onRevoke' | 'onAssign' | 'onLost'

export type Subscription = readonly string[] | RegExp

/**
 * The subscription a member keeps: a copy of the names, or the pattern without the `g` and `y`
 * flags, whose `lastIndex` would make `test` answer differently from one topic to the next.
 * @throws MembershipError once the member is closed or closing
 */
export function takeSubscription(topics: Subscription, member: { closed: boolean; failure: BatonError | undefined }): Subscription {
  if (member.closed) throw new MembershipError('GROUP_CLOSED', 'this group member is closed; create a new one to join again', { cause: member.failure })
  return topics instanceof RegExp ? new RegExp(topics.source, topics.flags.replace(/[gy]/g, '')) : [...topics]
}

/** Runs a user hook, awaited and bounded by the rebalance timeout. */
export function runMemberHook(o: MemberBasics, name: MemberHookName, partitions: TopicPartitions[]): Promise<void> {
  return runHook(name, o.hooks[name], partitions, o.rebalanceTimeoutMs, o.timers, o.report)
}

/** Leaving: what the member still owns goes through onRevoke, or onLost when it was already lost. */
export async function releaseOwned(o: MemberBasics, owned: TopicPartitions[], lost: boolean): Promise<void> {
  if (owned.length > 0) await runMemberHook(o, lost ? 'onLost' : 'onRevoke', owned)
}

/**
 * The life of a member as both protocols live it: one loop, started by the first subscribe, that
 * runs the protocol's steps until the member closes or fails for good, then leaves. Subclasses
 * supply the steps; closing, the loop and the failure are kept here.
 */
export abstract class LoopedMember<S extends string> {
  /** Why the member stopped for good (e.g. fenced), if it did; it then closes itself. */
  failure: BatonError | undefined
  protected closing = false
  private loop: Promise<void> | undefined
  /** The early leave of close(), when it was made. */
  private departure: Promise<void> | undefined
  /** The member's state machine, as far as starting and closing need it. */
  protected abstract readonly machine: { readonly state: S; transitionTo(to: 'closed' | 'leaving'): void }
  protected abstract readonly o: MemberBasics
  protected abstract readonly waker: Waker
  /** Why ownership was lost, while that is not handled yet. */
  protected abstract lostReason: string | undefined
  protected memberIdValue = ''

  get state(): S {
    return this.machine.state
  }

  get memberId(): string {
    return this.memberIdValue
  }

  /**
   * Commits offsets under the member's current generation (or epoch) and waits for the answer, for
   * up to `timeoutMs` (default: the rebalance timeout). Transient failures are retried; a rebalance
   * in the way is waited out and the offsets are sent again under the new generation for the
   * partitions this member has owned without a break since the call, never for others.
   * @throws CommitFailedError
   */
  commit(offsets: readonly CommitOffset[], options: { timeoutMs?: number } = {}): Promise<void> {
    return commitAndWait(this.o, this.commitContext(), offsets, options)
  }

  /** Commits once, without retrying or waiting out a rebalance; the outcome goes to `callback` (null on success). */
  commitAsync(offsets: readonly CommitOffset[], callback?: (error: CommitFailedError | null) => void): void {
    commitInBackground(this.o, this.commitContext(), offsets, callback)
  }

  /**
   * The group's committed offsets for these partitions: where to resume them. Waits out
   * transactions still committing offsets (KIP-447) unless `requireStable` is false.
   */
  committed(partitions: readonly TopicPartition[], options: { requireStable?: boolean; timeoutMs?: number } = {}): Promise<CommittedOffset[]> {
    return committedOffsets(this.o, partitions, options)
  }

  /**
   * Revokes what is owned (onRevoke), leaves the group and stops; a member that never subscribed
   * just closes. A static member keeps its assignment for a restart within the session timeout
   * (KIP-345): the classic member sends no LeaveGroup, the KIP-848 member leaves with epoch -2. A
   * JoinGroup or SyncGroup in flight is not waited for: the member leaves beside it, and the
   * coordinator answers it at once (a static member, which does not leave, still waits for it).
   */
  async close(): Promise<void> {
    this.closing = true
    this.onClose()
    this.waker.wake()
    if (this.loop === undefined) {
      if (this.machine.state === 'unjoined') this.machine.transitionTo('closed')
      return
    }
    // A request the coordinator parks until the rebalance completes (a JoinGroup waiting out a
    // crashed member's session) would hold the leave for that long, and a caller's deadline would
    // then close the connections without leaving, so the group waits this member's session out
    // too. Leaving beside it goes over the other coordinator connection; the coordinator then
    // answers the parked request at once.
    if (this.parked() && this.departure === undefined) this.departure = this.depart(this.lostReason !== undefined)
    await this.loop
  }

  private async depart(lost: boolean): Promise<void> {
    await releaseOwned(this.o, this.ownedGroups(), lost)
    await this.leaveGroup(lost)
  }

  /** Closing, closed or failed: no new subscription is taken. */
  protected get closed(): boolean {
    return this.closing || this.machine.state === 'closed' || this.machine.state === 'fatal'
  }

  /** Starts the loop unless it runs already; says whether it started now. */
  protected startLoop(): boolean {
    if (this.loop !== undefined) return false
    this.loop = driveMember({
      stopped: () => this.closing || this.machine.state === 'fatal',
      lost: () => this.lostReason !== undefined && this.machine.state !== 'unjoined',
      handleLost: () => this.handleLost(),
      step: () => this.step(),
      fail: (error) => this.fail(error),
      shutdown: () => this.leave(),
    })
    return true
  }

  /**
   * The end of the loop: a failed member just closes; any other revokes what it owns (onRevoke, or
   * onLost when it was already lost) while it is still a member, then leaves the group.
   */
  private async leave(): Promise<void> {
    this.stopTimers()
    if (this.machine.state === 'fatal') {
      this.machine.transitionTo('closed')
      return
    }
    const lost = this.lostReason !== undefined
    this.machine.transitionTo('leaving')
    if (this.departure !== undefined) await this.departure
    else await this.depart(lost)
    this.machine.transitionTo('closed')
  }

  /**
   * A failure to keep quiet about: the connections closed under a closing member (a close that
   * stopped waiting for its coordinator), which the caller asked for.
   */
  protected closedUnderIt(error: BatonError): boolean {
    return this.closing && error instanceof ClientClosedError
  }

  /** What else stops when the member closes (timers beside the loop). */
  protected onClose(): void {}
  /** The loop waits on a request the coordinator answers only when the rebalance completes. */
  protected parked(): boolean {
    return false
  }
  protected abstract handleLost(): Promise<void>
  protected abstract step(): Promise<void>
  protected abstract fail(error: BatonError): void
  /** Stops the heartbeat and other timers beside the loop, once it ends. */
  protected abstract stopTimers(): void
  protected abstract ownedGroups(): TopicPartitions[]
  /** The protocol's goodbye, after the hooks: drop what is owned and tell the coordinator (unless `lost`, or static). */
  protected abstract leaveGroup(lost: boolean): Promise<void>
  /** A commit's view of the member, taken when the commit is asked for. */
  protected abstract commitContext(): CommitContext
}

/** One member's loop, as `driveMember` runs it. */
export interface MemberLoop {
  /** Closing, or failed for good. */
  stopped(): boolean
  /** Ownership was lost and has not been handled yet. */
  lost(): boolean
  handleLost(): Promise<void>
  /** The next step of the state machine. */
  step(): Promise<void>
  fail(error: BatonError): void
  shutdown(): Promise<void>
}

/**
 * One step at a time until the member stops; a loss is handled before any other step, whatever
 * escapes a step fails the member, and the member shuts down (leaves) at the end either way.
 */
export async function driveMember(loop: MemberLoop): Promise<void> {
  try {
    while (!loop.stopped()) {
      if (loop.lost()) await loop.handleLost()
      else await loop.step()
    }
  } catch (err) {
    loop.fail(err instanceof BatonError ? err : new MembershipError('GROUP_FATAL', 'group membership failed', { cause: err }))
  }
  await loop.shutdown()
}

/**
 * Commits and waits for the answer, for up to `timeoutMs` (default: the rebalance timeout),
 * retrying transient failures and waiting out a rebalance in the way.
 * @throws CommitFailedError
 */
export async function commitAndWait(o: MemberBasics, context: CommitContext, offsets: readonly CommitOffset[], options: { timeoutMs?: number }): Promise<void> {
  const retryUntil = o.timers.now() + (options.timeoutMs ?? o.rebalanceTimeoutMs)
  await commitOffsets(context, offsets, { retryUntil })
}

/** Commits once; the outcome goes to `callback` (null on success), or to the member's report without one. */
export function commitInBackground(o: MemberBasics, context: CommitContext, offsets: readonly CommitOffset[], callback?: (error: CommitFailedError | null) => void): void {
  commitOffsets(context, offsets).then(
    () => callback?.(null),
    (err: unknown) => {
      const error = err instanceof CommitFailedError ? err : new CommitFailedError('GROUP_COMMIT_FAILED', 'the offset commit failed', undefined, err)
      if (callback) callback(error)
      else o.report(error)
    },
  )
}

/** The group's committed offsets for these partitions, waiting out transactions still committing (KIP-447) unless `requireStable` is false. */
export function committedOffsets(
  o: MemberBasics,
  partitions: readonly TopicPartition[],
  options: { requireStable?: boolean; timeoutMs?: number },
): Promise<CommittedOffset[]> {
  return fetchCommittedOffsets(o.transport, o.groupId, partitions, {
    requireStable: options.requireStable ?? true,
    timeoutMs: options.timeoutMs ?? o.rebalanceTimeoutMs,
    retryBackoffMs: o.retryBackoffMs,
    timers: o.timers,
  })
}

/** What a commit takes from the member's options; the member adds its identity and its rebalance rules. */
export function commitBasics(o: MemberBasics): Pick<CommitContext, 'transport' | 'timers' | 'groupId' | 'retryBackoffMs'> {
  return { transport: o.transport, timers: o.timers, groupId: o.groupId, retryBackoffMs: o.retryBackoffMs }
}

/** The failure of a refused commit that will not be sent again, and why. */
export function notResent(refusal: CommitFailedError, why: string): CommitFailedError {
  return new CommitFailedError('GROUP_COMMIT_REBALANCE', `${refusal.message}; not sent again: ${why}`, refusal.kafkaError, refusal)
}

/**
 * Waits for what a refused commit can do next: `watch` calls `finish` when the member has moved on
 * (and returns how to stop watching); at `until`, the commit fails with `timedOut`.
 */
export function awaitResend(
  timers: Timers,
  until: number,
  timedOut: () => CommitFailedError,
  watch: (finish: (result: Resend | CommitFailedError) => void) => () => void,
): Promise<Resend | CommitFailedError> {
  return new Promise((resolve) => {
    let settled = false
    const unwatchers: (() => void)[] = []
    const finish = (result: Resend | CommitFailedError): void => {
      if (settled) return
      settled = true
      for (const unwatch of unwatchers) unwatch()
      timers.clearTimeout(timer)
      resolve(result)
    }
    const timer = timers.setTimeout(() => finish(timedOut()), Math.max(0, until - timers.now()))
    const unwatch = watch(finish)
    if (settled) unwatch()
    else unwatchers.push(unwatch)
  })
}
