/**
 * A consumer group member under the classic protocol: join, sync, heartbeat, rebalance, leave.
 *
 * One loop drives the state machine (state.ts); the heartbeat runs on its own timer beside it and
 * only raises flags (rebalance needed, ownership lost) that the loop acts on between steps, so the
 * order of hooks is always the loop's order. The loop never runs two steps at once. The one thing
 * done beside it is the leave of a member closed while its JoinGroup or SyncGroup is parked
 * (member-core.ts, close): the loop runs no hook in those steps and stops when they return.
 *
 * Eager protocol: when a rebalance is due, onRevoke(all owned) runs while the generation is still
 * valid (the coordinator accepts commits from the current generation during PreparingRebalance),
 * then the member rejoins owning nothing. Cooperative protocol (KIP-429): the member rejoins still
 * owning its partitions and reports them; after SyncGroup it revokes only those no longer assigned
 * (onRevoke, under the new generation), and if it revoked any it rejoins once more so the leader
 * can hand them out.
 *
 * A commit asked for while the member rejoins goes out under the generation it holds, which the
 * coordinator accepts until it has every member's JoinGroup. One asked for while the member syncs
 * (or refused because of the rebalance) waits for the rebalance to complete and goes out under the new generation, for the partitions owned without a
 * break since it was asked for: see `afterRebalance` and commit.ts.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { kafkaError } from '../../protocol/errors/kafka-errors.js'
import type { AssignorMemberState, RebalanceProtocol } from './assignors/types.js'
import { commitIdentity, type CommitContext, type CommitOffset, type Resend } from './commit.js'
import { groupStateChannel, type GroupStateEvent } from './diagnostics.js'
import { CommitFailedError, fencedMessage, MembershipError } from './errors.js'
import type { GroupErrorAction } from './error-actions.js'
import { Heartbeater, type HeartbeatIdentity } from './heartbeat.js'
import { joinGroup, leaveGroup, syncGroup, type JoinOutcome, type SyncOutcome } from './member-requests.js'
import { awaitResend, commitBasics, LoopedMember, notResent, runMemberHook, takeSubscription, type MemberHookName, type Subscription } from './member-core.js'
import { resolveMemberOptions, type GroupMemberOptions, type ResolvedMemberOptions } from './member-options.js'
import { MemberStateMachine, type MemberState, type StateListener } from './state.js'
import { PartitionSet, type TopicPartitions } from './topic-partitions.js'
import { Waker } from './waker.js'
import { metadataChange, MetadataWatch, PollWatch, resolveTopics } from './watches.js'

export type { GroupMemberOptions } from './member-options.js'

/** How often a leader whose group subscribes to a topic that does not exist checks whether it was created. */
export const MISSING_TOPIC_CHECK_MS = 2000

type LostReason = 'unknown-member' | 'illegal-generation' | 'session-expired' | 'fenced' | 'poll-timeout'

export class GroupMember extends LoopedMember<MemberState> {
  readonly groupId: string
  readonly protocol: RebalanceProtocol
  protected readonly o: ResolvedMemberOptions
  private readonly sm = new MemberStateMachine()
  protected readonly machine = this.sm
  private readonly heartbeat: Heartbeater
  protected readonly waker: Waker
  private readonly metadataWatch: MetadataWatch
  private readonly pollWatch: PollWatch

  private subscription: Subscription | undefined
  private generation = -1
  private leader = false
  /**
   * Never changed in place, only replaced, and every change of ownership replaces it: a commit
   * compares the set it saw when asked for with the one at the end of a rebalance, to know that
   * the partitions stayed this member's throughout.
   */
  private owned = new PartitionSet()
  /**
   * Counts the times a partition left `owned` (revoked, lost, given up on leaving). A commit asked
   * for when it read n may be resent under a later generation while it still reads n: nothing the
   * member owned then has left it since, so no one else can have committed for those partitions.
   */
  private ownershipBreaks = 0
  private assignorState: AssignorMemberState = { generationId: -1, assigned: [] }
  private joinedTopics: readonly string[] = []
  private partitionCounts = new Map<string, number>()
  private joined: Extract<JoinOutcome, { kind: 'joined' }> | undefined
  private assigned: TopicPartitions[] | undefined
  /** When the SyncGroup that brought `assigned` was sent: the session's earliest restart at the coordinator. */
  private syncSentAt = 0

  private rejoinReason: string | undefined
  protected lostReason: LostReason | undefined

  /** @throws RangeError for invalid options. */
  constructor(options: GroupMemberOptions) {
    super()
    this.o = resolveMemberOptions(options)
    this.groupId = this.o.groupId
    this.protocol = this.o.protocol
    this.waker = new Waker(this.o.timers)
    this.heartbeat = new Heartbeater({
      transport: this.o.transport,
      timers: this.o.timers,
      groupId: this.groupId,
      intervalMs: this.o.heartbeatIntervalMs,
      sessionTimeoutMs: this.o.sessionTimeoutMs,
      identity: () => this.identity(),
      outcome: (action, errorCode) => this.onGroupError(action, errorCode, 'Heartbeat'),
    })
    this.metadataWatch = new MetadataWatch(this.o.timers, () => this.metadataCheckMs(), () => this.refreshMetadata(), this.o.report)
    this.pollWatch = new PollWatch(this.o.timers, this.o.maxPollIntervalMs, () => this.pollExpired())
    this.sm.onChange((to, from) => {
      if (!groupStateChannel.hasSubscribers) return
      const event: GroupStateEvent = { groupId: this.groupId, memberId: this.memberIdValue, generationId: this.generation, from, to, owned: this.owned.size }
      groupStateChannel.publish(event)
    })
  }

  get generationId(): number {
    return this.generation
  }

  get isLeader(): boolean {
    return this.leader
  }

  /** Partitions currently owned. */
  assignment(): TopicPartitions[] {
    return this.owned.toGroups()
  }

  /** Heartbeats sent so far. */
  get heartbeatsSent(): number {
    return this.heartbeat.sent
  }

  onStateChange(listener: StateListener): () => void {
    return this.sm.onChange(listener)
  }

  /** Joins the group with these topics, or with every topic whose name matches the pattern. Changing it later triggers a rebalance. */
  subscribe(topics: readonly string[] | RegExp): void {
    this.subscription = takeSubscription(topics, { closed: this.closed, failure: this.failure })
    if (this.startLoop()) {
      this.metadataWatch.start()
      this.pollWatch.start()
    } else {
      this.requestRejoin('subscription changed')
    }
  }

  /**
   * Tells the member the application is consuming. Only matters with `maxPollIntervalMs` set: a
   * member whose application does not poll within it leaves the group, and rejoins at the next poll.
   */
  poll(): void {
    if (this.pollWatch.poll()) this.waker.wake()
  }

  /** Asks for a rebalance at the next opportunity. */
  requestRejoin(reason: string): void {
    this.rejoinReason ??= reason
    this.waker.wake()
  }

  /** Topics of the group that did not exist at the last assignment (known to the leader, which assigns). */
  missingTopics(): string[] {
    return [...this.partitionCounts].filter(([, count]) => count === 0).map(([topic]) => topic)
  }

  /** How long until the next metadata check: soon while a subscribed topic is missing, so that it is consumed once created. */
  private metadataCheckMs(): number {
    return this.missingTopics().length > 0 ? Math.min(this.o.metadataMaxAgeMs, MISSING_TOPIC_CHECK_MS) : this.o.metadataMaxAgeMs
  }

  /** Checks metadata now: a new matching topic or a partition count change triggers a rebalance. */
  async refreshMetadata(): Promise<void> {
    if (this.sm.state !== 'stable' && this.sm.state !== 'assigning') return
    const reason = await metadataChange(this.subscription, this.joinedTopics, this.partitionCounts, this.o.metadata)
    if (reason !== undefined) this.requestRejoin(reason)
  }

  /** The metadata and poll timers stop with the member; the loop itself leaves (see shutdown). */
  protected override onClose(): void {
    this.metadataWatch.stop()
    this.pollWatch.stop()
  }

  /** JoinGroup and SyncGroup wait for the rebalance to complete; close() leaves beside them. */
  protected override parked(): boolean {
    return this.sm.state === 'joining' || this.sm.state === 'syncing'
  }

  protected async step(): Promise<void> {
    switch (this.sm.state) {
      case 'unjoined':
      case 'revoking':
        this.sm.transitionTo('joining')
        break
      case 'joining':
        await this.join()
        break
      case 'syncing':
        await this.sync()
        break
      case 'assigning':
        await this.reconcile()
        break
      case 'stable':
        await this.waker.until(() => this.rejoinReason !== undefined || this.lostReason !== undefined || this.closing)
        if (!this.closing && this.lostReason === undefined) await this.prepareRejoin()
        break
      case 'lost':
      case 'leaving':
      case 'closed':
      case 'fatal':
        throw new MembershipError('GROUP_FATAL', `group member loop reached state ${this.sm.state} unexpectedly`)
    }
  }

  private async join(): Promise<void> {
    this.heartbeat.stop()
    const reason = this.rejoinReason ?? 'joining'
    this.rejoinReason = undefined
    try {
      this.joinedTopics = await resolveTopics(this.subscription, this.o.metadata)
    } catch (err) {
      // Listing topics for a pattern failed (no broker reachable): try again after a backoff.
      this.o.report(new MembershipError('GROUP_METADATA', 'listing topics for the subscription pattern failed; will retry', { cause: err }))
      if (!this.closing) await this.waker.delay(this.o.retryBackoffMs)
      return
    }
    const outcome = await joinGroup({
      ...this.o,
      memberId: this.memberIdValue,
      topics: this.joinedTopics,
      owned: this.protocol === 'cooperative' ? this.owned.toGroups() : [],
      assignorState: this.assignorState,
      reason,
    })
    if (outcome.kind === 'joined') {
      this.memberIdValue = outcome.memberId
      this.generation = outcome.generationId
      this.leader = outcome.leader
      this.joined = outcome
      this.sm.transitionTo('syncing')
      return
    }
    this.applyFailure(outcome)
    if (outcome.kind === 'retry' && !this.closing) await this.waker.delay(this.o.retryBackoffMs)
  }

  private async sync(): Promise<void> {
    const joined = this.joined
    if (joined === undefined) throw new MembershipError('GROUP_FATAL', 'syncing without a join result')
    const sentAt = this.o.timers.now()
    const outcome = await syncGroup(this.o.transport, this.groupId, this.identity(), joined, this.o.report)
    if (outcome.kind === 'synced') {
      this.assigned = outcome.partitions
      this.syncSentAt = sentAt
      // Followers do not watch partition counts; the leader does, for every topic of the group (as in Kafka).
      this.partitionCounts = joined.partitionCounts ?? new Map<string, number>()
      const missing = this.missingTopics()
      if (missing.length > 0) {
        this.o.report(
          new MembershipError(
            'GROUP_TOPIC_MISSING',
            `subscribed topic${missing.length > 1 ? 's' : ''} ${missing.map((t) => JSON.stringify(t)).join(', ')} ` +
              `do${missing.length > 1 ? '' : 'es'} not exist, so the group has no partitions of ${missing.length > 1 ? 'them' : 'it'} to consume; ` +
              `checking every ${this.metadataCheckMs()} ms and consuming once created (create it, or enable auto.create.topics.enable on the brokers)`,
          ),
        )
        this.metadataWatch.reschedule()
      }
      this.sm.transitionTo('assigning')
      return
    }
    this.applyFailure(outcome)
    if (this.sm.state === 'syncing') this.sm.transitionTo('joining')
    if (outcome.kind === 'retry' && !this.closing) await this.waker.delay(this.o.retryBackoffMs)
  }

  /** Applies a failed join or sync: what is lost, what to retry, what is fatal. */
  private applyFailure(outcome: Exclude<JoinOutcome | SyncOutcome, { kind: 'joined' | 'synced' }>): void {
    switch (outcome.kind) {
      case 'member-id-required':
        this.memberIdValue = outcome.memberId
        break
      case 'unknown-member':
      case 'illegal-generation':
      case 'fenced':
        if (outcome.kind === 'unknown-member') this.memberIdValue = ''
        this.generation = -1
        // Nothing owned means nothing to lose: just join again (or stop, if fenced).
        if (this.owned.size > 0) this.lostReason = outcome.kind
        else if (outcome.kind === 'fenced') this.fail(new MembershipError('GROUP_FATAL', fencedMessage(this.o.groupInstanceId)))
        break
      case 'fatal':
        this.fail(outcome.error)
        break
      case 'retry':
      case 'rejoin':
        break
    }
  }

  private async reconcile(): Promise<void> {
    const next = PartitionSet.fromGroups(this.assigned ?? [])
    this.heartbeat.start(this.syncSentAt)
    if (this.protocol === 'cooperative') {
      const revoked = this.owned.minus(next)
      if (revoked.size > 0) {
        await this.runUserHook('onRevoke', revoked.toGroups())
        this.owned = this.owned.minus(revoked)
        this.ownershipBreaks++
        // KIP-429: the revoked partitions were withheld from everyone; a follow-up rebalance hands them out.
        this.requestRejoin('revoked partitions for a cooperative rebalance')
      }
    }
    const added = this.protocol === 'cooperative' ? next.minus(this.owned) : next
    this.owned = next
    this.assignorState = { generationId: this.generation, assigned: next.toGroups() }
    await this.runUserHook('onAssign', added.toGroups())
    if (this.lostReason === undefined && !this.closing) this.sm.transitionTo('stable')
  }

  private async prepareRejoin(): Promise<void> {
    if (this.protocol === 'eager') {
      this.sm.transitionTo('revoking')
      const all = this.owned.toGroups()
      if (all.length > 0) await this.runUserHook('onRevoke', all)
      if (all.length > 0) this.ownershipBreaks++
      this.owned = new PartitionSet()
      return
    }
    this.sm.transitionTo('joining')
  }

  protected async handleLost(): Promise<void> {
    const reason = this.lostReason
    this.sm.transitionTo('lost')
    this.heartbeat.stop()
    const lost = this.owned.toGroups()
    if (lost.length > 0) this.ownershipBreaks++
    this.owned = new PartitionSet()
    this.assignorState = { generationId: -1, assigned: [] }
    this.generation = -1
    if (reason === 'unknown-member' || reason === 'session-expired') this.memberIdValue = ''
    if (lost.length > 0) await this.runUserHook('onLost', lost)
    if (reason === 'poll-timeout') {
      if (this.memberIdValue !== '' && this.o.groupInstanceId === null) await leaveGroup(this.o.transport, this.groupId, this.memberIdValue, this.o.report)
      this.memberIdValue = ''
      await this.waker.until(() => !this.pollWatch.expired || this.closing)
    }
    this.lostReason = undefined
    if (reason === 'fenced') this.fail(new MembershipError('GROUP_FATAL', fencedMessage(this.o.groupInstanceId)))
    else this.sm.transitionTo('joining')
  }

  protected stopTimers(): void {
    this.heartbeat.stop()
    this.metadataWatch.stop()
    this.pollWatch.stop()
  }

  protected ownedGroups(): TopicPartitions[] {
    return this.owned.toGroups()
  }

  /** Static members send no LeaveGroup, so that a restart within the session timeout keeps their partitions (KIP-345). */
  protected async leaveGroup(): Promise<void> {
    if (this.owned.size > 0) this.ownershipBreaks++
    this.owned = new PartitionSet()
    if (this.memberIdValue !== '' && this.o.groupInstanceId === null) {
      await leaveGroup(this.o.transport, this.groupId, this.memberIdValue, this.o.report)
    }
    this.generation = -1
  }

  private onGroupError(action: Exclude<GroupErrorAction, 'none'> | 'session-expired', errorCode: number, api: string): void {
    switch (action) {
      case 'rejoin':
        this.requestRejoin('the coordinator started a rebalance')
        break
      case 'stale-epoch':
        // KIP-848 only; a classic coordinator never answers it.
        this.requestRejoin('the coordinator reported a stale member epoch')
        break
      case 'fenced-epoch':
      case 'unknown-member':
      case 'illegal-generation':
      case 'session-expired':
      case 'fenced':
        this.lostReason ??= action === 'fenced-epoch' ? 'illegal-generation' : action
        this.heartbeat.stop()
        this.waker.wake()
        break
      case 'coordinator':
        this.o.transport.coordinatorLost()
        break
      case 'retry':
        break
      case 'fatal':
        // Not a membership change (e.g. authorization): the member carries on, but someone must hear of it.
        this.o.report(kafkaError(errorCode, { api, groupId: this.groupId }))
        break
    }
  }

  /** Runs a user hook, awaited and bounded by the rebalance timeout. */
  private runUserHook(name: MemberHookName, partitions: TopicPartitions[]): Promise<void> {
    return runMemberHook(this.o, name, partitions)
  }

  private identity(): HeartbeatIdentity {
    return { memberId: this.memberIdValue, generationId: this.generation, groupInstanceId: this.o.groupInstanceId }
  }

  /** A commit's view of the member; `owned` is taken now, when the commit is asked for. */
  protected commitContext(): CommitContext {
    const ownedWhenAsked = this.owned
    const breaksWhenAsked = this.ownershipBreaks
    return {
      ...commitBasics(this.o),
      identity: () => this.commitIdentity(),
      holds: (sentAs) =>
        this.sm.state !== 'joining' &&
        this.sm.state !== 'syncing' &&
        this.lostReason === undefined &&
        this.memberIdValue === sentAs.memberId &&
        this.generation === sentAs.generationId,
      afterRebalance: (offsets, until, refusal) => this.afterRebalance(ownedWhenAsked, breaksWhenAsked, offsets, until, refusal),
      outcome: (action, errorCode) => this.onGroupError(action, errorCode, 'OffsetCommit'),
    }
  }

  private commitIdentity(): HeartbeatIdentity | CommitFailedError {
    return commitIdentity(this.sm.state, this.lostReason === undefined ? this.identity() : undefined)
  }

  /**
   * For a commit that a rebalance got in the way of: resolves with a generation to resend it under
   * and the offsets to send: at once if the rebalance has completed already; otherwise when the
   * member next rejoins holding a generation (which the coordinator accepts until every member has
   * rejoined) or reaches `assigning` (its SyncGroup answered, before any partition is revoked or
   * assigned). A partition goes into the resend only if the member has owned it without a break
   * since the commit was asked for (no partition has left `owned` since, `ownershipBreaks`): under
   * the cooperative protocol it is then still this member's until its onRevoke settles (KIP-429),
   * and no one else can have committed for it. Nothing is resent if ownership broke (a revocation,
   * a loss), if the member is closing, lost or failed, or when `until` passes.
   *
   * Waiting is only possible while the loop itself goes on with the rebalance (joining, syncing,
   * or stable with a rejoin due); in a hook it would wait for itself, so it fails at once.
   */
  private afterRebalance(
    ownedWhenAsked: PartitionSet,
    breaksWhenAsked: number,
    offsets: readonly CommitOffset[],
    until: number,
    refusal: CommitFailedError,
  ): Promise<Resend | CommitFailedError> {
    const changed = (): CommitFailedError => notResent(refusal, 'a partition this member owned when the commit was asked for has left it meanwhile')
    const resend = (identity: HeartbeatIdentity): Resend => ({
      identity,
      offsets: offsets.filter((o) => ownedWhenAsked.has(o)),
      dropped: offsets.filter((o) => !ownedWhenAsked.has(o)),
    })
    if (this.ownershipBreaks !== breaksWhenAsked) return Promise.resolve(changed())
    if (this.closing) return Promise.resolve(notResent(refusal, 'the member is closing'))
    const state = this.sm.state
    const rejoinDue = this.rejoinReason !== undefined || this.lostReason !== undefined
    if ((state === 'stable' || state === 'assigning') && !rejoinDue) {
      // The rebalance that refused the commit has completed already: resend under its generation.
      const identity = this.commitIdentity()
      return Promise.resolve(identity instanceof CommitFailedError ? identity : resend(identity))
    }
    const underWay = state === 'joining' || state === 'syncing' || (state === 'stable' && this.lostReason === undefined)
    if (!underWay) return Promise.resolve(notResent(refusal, `no rebalance this commit can wait for (state ${state})`))
    return awaitResend(
      this.o.timers,
      until,
      () => notResent(refusal, `the rebalance did not complete within the commit's timeout`),
      (finish) =>
        this.sm.onChange((to) => {
          if (to === 'syncing') return
          if (to !== 'joining' && to !== 'assigning') return finish(notResent(refusal, `the member went to ${to} before the rebalance completed`))
          if (this.ownershipBreaks !== breaksWhenAsked) return finish(changed())
          const identity = this.commitIdentity()
          // Rejoining, the member commits under the generation it holds, which the coordinator
          // accepts until every member has rejoined; without one it waits for the next.
          if (identity instanceof CommitFailedError) return to === 'joining' ? undefined : finish(identity)
          finish(resend(identity))
        }),
    )
  }

  private pollExpired(): void {
    this.o.report(
      new MembershipError(
        'GROUP_POLL_TIMEOUT',
        `the application did not poll for ${this.o.maxPollIntervalMs} ms (maxPollIntervalMs), so this member leaves the group and its partitions ` +
          'go to other members; it rejoins at the next poll(). Handle fewer records per poll or raise maxPollIntervalMs.',
      ),
    )
    this.lostReason ??= 'poll-timeout'
    this.heartbeat.stop()
    this.waker.wake()
  }

  protected fail(error: BatonError): void {
    this.failure ??= error
    if (this.sm.state !== 'fatal') this.sm.transitionTo('fatal')
    if (!this.closedUnderIt(error)) this.o.report(error)
  }
}
