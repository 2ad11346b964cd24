/**
 * A consumer group member under the classic protocol: join, sync, heartbeat, rebalance, leave.
 *
 * One loop drives the state machine (state.ts); the heartbeat runs on its own timer beside it and
 * only raises flags (rebalance needed, ownership lost) that the loop acts on between steps, so the
 * order of hooks is always the loop's order. The loop never runs two steps at once.
 *
 * Eager protocol: when a rebalance is due, onRevoke(all owned) runs while the generation is still
 * valid (the coordinator accepts commits from the current generation during PreparingRebalance),
 * then the member rejoins owning nothing. Cooperative protocol (KIP-429): the member rejoins still
 * owning its partitions and reports them; after SyncGroup it revokes only those no longer assigned
 * (onRevoke, under the new generation), and if it revoked any it rejoins once more so the leader
 * can hand them out.
 */
import { BatonError } from '../../protocol/errors/base.js'
import { cooperativeStickyAssignor } from './assignors/sticky.js'
import type { AssignorMemberState, PartitionAssignor, RebalanceProtocol } from './assignors/types.js'
import { commitOffsets, type CommitOffset } from './commit.js'
import { CommitFailedError, MembershipError } from './errors.js'
import type { GroupErrorAction } from './group-errors.js'
import { Heartbeater, type HeartbeatIdentity } from './heartbeat.js'
import { runHook, type RebalanceHooks } from './hooks.js'
import { joinGroup, leaveGroup, syncGroup, type JoinOutcome, type SyncOutcome } from './member-requests.js'
import { hasValidGeneration, MemberStateMachine, type MemberState, type StateListener } from './state.js'
import { PartitionSet, type TopicPartitions } from './topic-partitions.js'
import { systemTimers, type GroupMetadataSource, type GroupTransport, type Timers } from './transport.js'

export interface GroupMemberOptions {
  groupId: string
  transport: GroupTransport
  metadata: GroupMetadataSource
  /** Preferred first. Default: cooperative-sticky. The protocol is cooperative only if every assignor supports it. */
  assignors?: readonly PartitionAssignor[]
  /** Static membership (KIP-345): a restart with the same id within the session timeout keeps the assignment. */
  groupInstanceId?: string | null
  rackId?: string | null
  /** Default 45 s, as Kafka's clients. */
  sessionTimeoutMs?: number
  /** How long the coordinator waits for members to rejoin, and the bound on each rebalance hook. Default 60 s. */
  rebalanceTimeoutMs?: number
  /** Default 3 s. */
  heartbeatIntervalMs?: number
  /** Wait before retrying after a transient failure. Default 100 ms. */
  retryBackoffMs?: number
  /** How often to check for new partitions or newly matching topics. Default 5 min. */
  metadataMaxAgeMs?: number
  hooks?: RebalanceHooks
  /** Errors the member recovers from or cannot surface elsewhere (hook failures and overruns, fatal errors). */
  onError?: (error: BatonError) => void
  timers?: Timers
}

type LostReason = 'unknown-member' | 'illegal-generation' | 'session-expired' | 'fenced'

export class GroupMember {
  readonly groupId: string
  private readonly sm = new MemberStateMachine()
  private readonly transport: GroupTransport
  private readonly metadata: GroupMetadataSource
  private readonly assignors: readonly PartitionAssignor[]
  readonly protocol: RebalanceProtocol
  private readonly hooks: RebalanceHooks
  private readonly timers: Timers
  private readonly heartbeat: Heartbeater
  private readonly options: Required<Pick<GroupMemberOptions, 'sessionTimeoutMs' | 'rebalanceTimeoutMs' | 'heartbeatIntervalMs' | 'retryBackoffMs' | 'metadataMaxAgeMs'>>
  private readonly groupInstanceId: string | null
  private readonly rackId: string | null

  private subscription: readonly string[] | RegExp | undefined
  private memberIdValue = ''
  private generation = -1
  private leader = false
  private owned = new PartitionSet()
  private assignorState: AssignorMemberState = { generationId: -1, assigned: [] }
  private joinedTopics: readonly string[] = []
  private partitionCounts = new Map<string, number>()
  private joined: Extract<JoinOutcome, { kind: 'joined' }> | undefined
  private assigned: TopicPartitions[] | undefined

  private rejoinReason: string | undefined
  private lostReason: LostReason | undefined
  private closing = false
  private wake: (() => void) | undefined
  private loop: Promise<void> | undefined
  private metadataTimer: unknown
  /** Set when the member stopped for good; close() still needs to be called to release it. */
  failure: BatonError | undefined

  constructor(private readonly config: GroupMemberOptions) {
    this.groupId = config.groupId
    this.transport = config.transport
    this.metadata = config.metadata
    this.assignors = config.assignors ?? [cooperativeStickyAssignor]
    if (this.assignors.length === 0) throw new RangeError('at least one partition assignor is required')
    this.protocol = this.assignors.every((a) => a.protocols.includes('cooperative')) ? 'cooperative' : 'eager'
    this.hooks = config.hooks ?? {}
    this.timers = config.timers ?? systemTimers
    this.groupInstanceId = config.groupInstanceId ?? null
    this.rackId = config.rackId ?? null
    this.options = {
      sessionTimeoutMs: config.sessionTimeoutMs ?? 45_000,
      rebalanceTimeoutMs: config.rebalanceTimeoutMs ?? 60_000,
      heartbeatIntervalMs: config.heartbeatIntervalMs ?? 3_000,
      retryBackoffMs: config.retryBackoffMs ?? 100,
      metadataMaxAgeMs: config.metadataMaxAgeMs ?? 300_000,
    }
    this.heartbeat = new Heartbeater({
      transport: this.transport,
      timers: this.timers,
      groupId: this.groupId,
      intervalMs: this.options.heartbeatIntervalMs,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      identity: () => this.identity(),
      outcome: (action) => this.onGroupError(action === 'session-expired' ? 'session-expired' : action),
    })
  }

  get state(): MemberState {
    return this.sm.state
  }

  get memberId(): string {
    return this.memberIdValue
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
    if (this.closing) throw new MembershipError('GROUP_CLOSED', 'this group member is closed; create a new one to join again')
    this.subscription = topics instanceof RegExp ? new RegExp(topics.source, topics.flags.replace(/[gy]/g, '')) : [...topics]
    if (this.loop === undefined) {
      this.loop = this.run()
      this.scheduleMetadataCheck()
    } else {
      this.requestRejoin('subscription changed')
    }
  }

  /** Asks for a rebalance at the next opportunity. */
  requestRejoin(reason: string): void {
    this.rejoinReason ??= reason
    this.wake?.()
  }

  /**
   * Commits offsets under the current generation and waits for the answer, retrying transient
   * failures for up to `timeoutMs` (default: the rebalance timeout) but never into another
   * generation. @throws CommitFailedError
   */
  async commit(offsets: readonly CommitOffset[], options: { timeoutMs?: number } = {}): Promise<void> {
    const retryUntil = this.timers.now() + (options.timeoutMs ?? this.options.rebalanceTimeoutMs)
    await commitOffsets(this.commitContext(), offsets, { retryUntil })
  }

  /** Commits once, without retrying; the outcome goes to `callback` (null on success). */
  commitAsync(offsets: readonly CommitOffset[], callback?: (error: CommitFailedError | null) => void): void {
    commitOffsets(this.commitContext(), offsets).then(
      () => callback?.(null),
      (err: unknown) => {
        const error = err instanceof CommitFailedError ? err : new CommitFailedError('GROUP_COMMIT_FAILED', 'the offset commit failed', undefined, err)
        if (callback) callback(error)
        else this.report(error)
      },
    )
  }

  /** Checks metadata now: a new matching topic or a partition count change triggers a rebalance. */
  async refreshMetadata(): Promise<void> {
    if (this.sm.state !== 'stable' && this.sm.state !== 'assigning') return
    const topics = await this.resolveTopics()
    if (!sameTopics(topics, this.joinedTopics)) return this.requestRejoin('subscribed topics changed')
    const counts = await this.metadata.partitionCounts([...this.partitionCounts.keys()])
    for (const [topic, count] of this.partitionCounts) {
      if (counts.get(topic) !== count) return this.requestRejoin(`partition count of ${JSON.stringify(topic)} changed`)
    }
  }

  /** Revokes owned partitions (onRevoke), leaves the group, and stops. Static members do not send LeaveGroup (KIP-345). */
  async close(): Promise<void> {
    this.closing = true
    this.wake?.()
    this.timers.clearTimeout(this.metadataTimer)
    if (this.loop === undefined) {
      if (this.sm.state === 'unjoined') this.sm.transitionTo('closed')
      return
    }
    await this.loop
  }

  private async run(): Promise<void> {
    try {
      while (!this.closing && this.sm.state !== 'fatal') {
        if (this.lostReason !== undefined) {
          await this.handleLost()
          continue
        }
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
            await this.untilRebalanceDue()
            if (!this.closing && this.lostReason === undefined) await this.prepareRejoin()
            break
          case 'lost':
          case 'leaving':
          case 'closed':
            throw new MembershipError('GROUP_FATAL', `group member loop reached state ${this.sm.state} unexpectedly`)
        }
      }
    } catch (err) {
      this.fail(err instanceof BatonError ? err : new MembershipError('GROUP_FATAL', 'group membership failed', { cause: err }))
    }
    await this.shutdown()
  }

  private async join(): Promise<void> {
    this.heartbeat.stop()
    const reason = this.rejoinReason ?? 'joining'
    this.rejoinReason = undefined
    this.joinedTopics = await this.resolveTopics()
    const outcome = await joinGroup({
      transport: this.transport,
      metadata: this.metadata,
      groupId: this.groupId,
      memberId: this.memberIdValue,
      groupInstanceId: this.groupInstanceId,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      rebalanceTimeoutMs: this.options.rebalanceTimeoutMs,
      assignors: this.assignors,
      topics: this.joinedTopics,
      rackId: this.rackId,
      owned: this.protocol === 'cooperative' ? this.owned.toGroups() : [],
      assignorState: this.assignorState,
      reason,
      report: (e) => this.report(e),
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
    if (outcome.kind === 'retry' && !this.closing) await this.delay(this.options.retryBackoffMs)
  }

  private async sync(): Promise<void> {
    const joined = this.joined
    if (joined === undefined) throw new MembershipError('GROUP_FATAL', 'syncing without a join result')
    const outcome = await syncGroup(this.transport, this.groupId, this.identity(), joined, (e) => this.report(e))
    if (outcome.kind === 'synced') {
      this.assigned = outcome.partitions
      // Followers do not watch partition counts; the leader does, for every topic of the group (as in Kafka).
      this.partitionCounts = joined.partitionCounts ?? new Map<string, number>()
      this.sm.transitionTo('assigning')
      return
    }
    this.applyFailure(outcome)
    if (this.sm.state === 'syncing') this.sm.transitionTo('joining')
    if (outcome.kind === 'retry' && !this.closing) await this.delay(this.options.retryBackoffMs)
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
        else if (outcome.kind === 'fenced') this.fail(new MembershipError('GROUP_FATAL', fencedMessage(this.groupInstanceId)))
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
    this.heartbeat.start()
    const timeout = this.options.rebalanceTimeoutMs
    if (this.protocol === 'cooperative') {
      const revoked = this.owned.minus(next)
      if (revoked.size > 0) {
        await runHook('onRevoke', this.hooks.onRevoke, revoked.toGroups(), timeout, this.timers, (e) => this.report(e))
        this.owned = this.owned.minus(revoked)
        // KIP-429: the revoked partitions were withheld from everyone; a follow-up rebalance hands them out.
        this.requestRejoin('revoked partitions for a cooperative rebalance')
      }
    }
    const added = this.protocol === 'cooperative' ? next.minus(this.owned) : next
    this.owned = next
    this.assignorState = { generationId: this.generation, assigned: next.toGroups() }
    await runHook('onAssign', this.hooks.onAssign, added.toGroups(), timeout, this.timers, (e) => this.report(e))
    if (this.lostReason === undefined && !this.closing) this.sm.transitionTo('stable')
  }

  private async prepareRejoin(): Promise<void> {
    if (this.protocol === 'eager') {
      this.sm.transitionTo('revoking')
      const all = this.owned.toGroups()
      if (all.length > 0) await runHook('onRevoke', this.hooks.onRevoke, all, this.options.rebalanceTimeoutMs, this.timers, (e) => this.report(e))
      this.owned = new PartitionSet()
      return
    }
    this.sm.transitionTo('joining')
  }

  private async handleLost(): Promise<void> {
    const reason = this.lostReason
    this.sm.transitionTo('lost')
    this.heartbeat.stop()
    const lost = this.owned.toGroups()
    this.owned = new PartitionSet()
    this.assignorState = { generationId: -1, assigned: [] }
    this.generation = -1
    if (reason === 'unknown-member' || reason === 'session-expired') this.memberIdValue = ''
    if (lost.length > 0) await runHook('onLost', this.hooks.onLost, lost, this.options.rebalanceTimeoutMs, this.timers, (e) => this.report(e))
    this.lostReason = undefined
    if (reason === 'fenced') this.fail(new MembershipError('GROUP_FATAL', fencedMessage(this.groupInstanceId)))
    else this.sm.transitionTo('joining')
  }

  private async shutdown(): Promise<void> {
    this.heartbeat.stop()
    this.timers.clearTimeout(this.metadataTimer)
    if (this.sm.state === 'fatal') {
      this.sm.transitionTo('closed')
      return
    }
    const lost = this.lostReason !== undefined
    this.sm.transitionTo('leaving')
    const owned = this.owned.toGroups()
    if (owned.length > 0) {
      const hook = lost ? 'onLost' : 'onRevoke'
      await runHook(hook, this.hooks[hook], owned, this.options.rebalanceTimeoutMs, this.timers, (e) => this.report(e))
    }
    this.owned = new PartitionSet()
    if (this.memberIdValue !== '' && this.groupInstanceId === null) {
      await leaveGroup(this.transport, this.groupId, this.memberIdValue, (e) => this.report(e))
    }
    this.generation = -1
    this.sm.transitionTo('closed')
  }

  private onGroupError(action: Exclude<GroupErrorAction, 'none'> | 'session-expired'): void {
    switch (action) {
      case 'rejoin':
        this.requestRejoin('the coordinator started a rebalance')
        break
      case 'unknown-member':
      case 'illegal-generation':
      case 'session-expired':
      case 'fenced':
        this.lostReason ??= action
        this.heartbeat.stop()
        this.wake?.()
        break
      case 'coordinator':
        this.transport.coordinatorLost()
        break
      case 'retry':
      case 'fatal':
        break
    }
  }

  private untilRebalanceDue(): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.rejoinReason !== undefined || this.lostReason !== undefined || this.closing) {
          this.wake = undefined
          resolve()
        }
      }
      this.wake = check
      check()
    })
  }

  /** Waits `ms`, or less if close() or a rebalance request wakes the loop. */
  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        this.wake = undefined
        resolve()
      }, ms)
      this.wake = () => {
        this.timers.clearTimeout(handle)
        this.wake = undefined
        resolve()
      }
    })
  }

  private identity(): HeartbeatIdentity {
    return { memberId: this.memberIdValue, generationId: this.generation, groupInstanceId: this.groupInstanceId }
  }

  private commitContext(): Parameters<typeof commitOffsets>[0] {
    return {
      transport: this.transport,
      timers: this.timers,
      groupId: this.groupId,
      retryBackoffMs: this.options.retryBackoffMs,
      identity: () => {
        const state = this.sm.state
        if (state === 'joining' || state === 'syncing') {
          return new CommitFailedError('GROUP_COMMIT_REBALANCE', 'the group is rebalancing, so there is no generation to commit under; commit in onRevoke, before partitions are released')
        }
        if (!hasValidGeneration(state) || this.generation < 0 || this.lostReason !== undefined) {
          return new CommitFailedError('GROUP_COMMIT_NOT_MEMBER', `this member is not in the group (state ${state}), so it cannot commit; its partitions may belong to another member`)
        }
        return this.identity()
      },
      outcome: (action) => this.onGroupError(action),
    }
  }

  private async resolveTopics(): Promise<string[]> {
    const sub = this.subscription
    if (sub === undefined) return []
    if (!(sub instanceof RegExp)) return [...sub]
    return (await this.metadata.listTopics()).filter((t) => sub.test(t)).sort()
  }

  private scheduleMetadataCheck(): void {
    this.metadataTimer = this.timers.setTimeout(() => {
      if (this.closing) return
      this.refreshMetadata().then(
        () => this.scheduleMetadataCheck(),
        (err: unknown) => {
          this.report(new MembershipError('GROUP_FATAL', 'checking topic metadata failed; will try again', { cause: err }))
          this.scheduleMetadataCheck()
        },
      )
    }, this.options.metadataMaxAgeMs)
  }

  private fail(error: BatonError): void {
    this.failure ??= error
    if (this.sm.state !== 'fatal') this.sm.transitionTo('fatal')
    this.report(error)
  }

  private report(error: BatonError): void {
    if (this.config.onError) this.config.onError(error)
    else process.emitWarning(error)
  }
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(b)
  return a.length === b.length && a.every((t) => set.has(t))
}

function fencedMessage(instanceId: string | null): string {
  return `another member joined with group.instance.id ${JSON.stringify(instanceId)} and fenced this one; ` +
    'give every running instance its own group.instance.id'
}
