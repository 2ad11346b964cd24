/**
 * A consumer group member under KIP-848 (the consumer group protocol of Kafka 4): the coordinator
 * computes the assignment and hands it out in ConsumerGroupHeartbeat answers; the member
 * reconciles it and acknowledges with its next heartbeat.
 *
 * One loop drives the state machine (state.ts), as in the classic member; the heartbeat runs on its
 * own timer (heartbeat.ts) and only records what it heard (a new assignment, a new epoch, a loss)
 * and wakes the loop, so hooks run one at a time in the loop's order.
 *
 * The hand-off: when an assignment takes partitions away, `onRevoke` runs and is awaited while the
 * member still holds them and its epoch (the coordinator keeps the epoch until the revocation is
 * acknowledged, so a commit made in `onRevoke` is accepted); only then do they leave `owned`, and
 * the next heartbeat, sent at once, tells the coordinator, which only then gives them to another
 * member. Fenced (FENCED_MEMBER_EPOCH), unknown (UNKNOWN_MEMBER_ID) or with its session presumed
 * expired, the member calls `onLost` (nothing may be committed for those partitions) and joins again
 * with epoch 0.
 *
 * Commits carry the member epoch. One refused with STALE_MEMBER_EPOCH (the member's epoch moved on
 * while it was in flight) is sent again under the new epoch, for partitions owned without a break
 * since it was asked for.
 */
import { randomUUID } from 'node:crypto'
import { BatonError } from '../../../protocol/errors/base.js'
import { kafkaError, KafkaErrorCode } from '../../../protocol/errors/kafka-errors.js'
import type { ConsumerGroupHeartbeatRequestInit, ConsumerGroupHeartbeatResponse } from '../../../protocol/generated/index.js'
import { UnsupportedVersionError } from '../../../net/errors.js'
import type { CommitContext, CommitOffset, Resend } from '../commit.js'
import { CommitFailedError, MembershipError } from '../errors.js'
import { groupErrorAction, type GroupErrorAction } from '../error-actions.js'
import type { HeartbeatIdentity } from '../heartbeat.js'
import { awaitResend, commitBasics, LoopedMember, notResent, runMemberHook, takeSubscription, type MemberHookName, type Subscription } from '../member-core.js'
import { partitionKey as keyOf, PartitionSet, type TopicPartition, type TopicPartitions } from '../topic-partitions.js'
import { Waker } from '../waker.js'
import { FATAL_REMEDY } from './remedies.js'
import { ConsumerHeartbeater } from './heartbeat.js'
import { resolveConsumerMemberOptions, type ConsumerGroupMemberOptions, type ResolvedConsumerMemberOptions } from './options.js'
import { ConsumerMemberStateMachine, type ConsumerMemberState, type ConsumerStateListener } from './state.js'

type LostReason = 'fenced-epoch' | 'unknown-member' | 'session-expired'
type WireAssignment = readonly { readonly topicId: string; readonly partitions: readonly number[] }[]

export class ConsumerGroupMember extends LoopedMember<ConsumerMemberState> {
  readonly groupId: string
  readonly protocol = 'consumer' as const
  protected readonly o: ResolvedConsumerMemberOptions
  private readonly sm = new ConsumerMemberStateMachine()
  protected readonly machine = this.sm
  private readonly heartbeat: ConsumerHeartbeater
  protected readonly waker: Waker

  private subscription: Subscription | undefined
  /** KIP-848: the member chooses its id, once, and keeps it for life (rejoins included). */
  protected override memberIdValue: string = randomUUID()
  private epoch = 0
  /** Replaced, never changed in place; `ownedSince` says from which change each partition is held. */
  private owned = new PartitionSet()
  private readonly ownedSince = new Map<string, number>()
  private ownershipChanges = 0
  /** The latest assignment heard and not yet reconciled. */
  private pending: WireAssignment | undefined
  private readonly topicNames = new Map<string, string>()
  private readonly topicIds = new Map<string, string>()
  /** Topic names matching a pattern subscription, for coordinators without regex support (v0). */
  private patternTopics: readonly string[] = []
  private leaveEpoch: number | undefined
  protected lostReason: LostReason | undefined
  private readonly epochListeners = new Set<() => void>()

  private get failed(): boolean {
    return this.failure !== undefined
  }

  /** @throws RangeError for invalid options. */
  constructor(options: ConsumerGroupMemberOptions) {
    super()
    this.o = resolveConsumerMemberOptions(options)
    this.groupId = this.o.groupId
    this.waker = new Waker(this.o.timers)
    this.heartbeat = new ConsumerHeartbeater({
      transport: this.o.transport,
      timers: this.o.timers,
      sessionTimeoutMs: this.o.sessionTimeoutMs,
      initialIntervalMs: Math.min(5000, Math.max(1, Math.floor(this.o.sessionTimeoutMs / 3))),
      request: (version) => this.request(version),
      answered: (response, sent) => this.answered(response, sent),
      expired: () => this.lose('session-expired'),
      unsendable: (error) => this.unsendable(error),
    })
  }

  /** The member epoch (KIP-848's counterpart of the classic generation). */
  get generationId(): number {
    return this.epoch
  }

  get memberEpoch(): number {
    return this.epoch
  }

  get heartbeatsSent(): number {
    return this.heartbeat.sent
  }

  assignment(): TopicPartitions[] {
    return this.owned.toGroups()
  }

  onStateChange(listener: ConsumerStateListener): () => void {
    return this.sm.onChange(listener)
  }

  subscribe(topics: readonly string[] | RegExp): void {
    this.subscription = takeSubscription(topics, { closed: this.closed, failure: this.failure })
    if (!this.startLoop()) this.heartbeat.now()
  }

  /** No max-poll-interval under this protocol yet: liveness is the heartbeat's alone. */
  poll(): void {}

  /** There is no rejoin under KIP-848: the next heartbeat carries whatever changed. */
  requestRejoin(_reason: string): void {
    this.heartbeat.now()
  }

  /** The coordinator watches partition counts itself; a heartbeat now lets it see them sooner. */
  refreshMetadata(): Promise<void> {
    this.heartbeat.now()
    return Promise.resolve()
  }

  protected async step(): Promise<void> {
    switch (this.sm.state) {
      case 'unjoined':
        await this.resolvePattern()
        this.sm.transitionTo('joining')
        this.heartbeat.start()
        break
      case 'joining':
      case 'stable':
        await this.waker.until(() => this.pending !== undefined || this.lostReason !== undefined || this.closing || this.failed)
        if (this.pending !== undefined && this.lostReason === undefined && !this.closing && !this.failed) this.sm.transitionTo('reconciling')
        break
      case 'reconciling':
        await this.reconcile()
        break
      default:
        throw new MembershipError('GROUP_FATAL', `group member loop reached state ${this.sm.state} unexpectedly`)
    }
  }

  /**
   * Moves to the latest assignment heard: onRevoke for what goes (awaited while still owned), then
   * the acknowledging heartbeat, then onAssign for what comes.
   */
  private async reconcile(): Promise<void> {
    const wire = this.pending
    this.pending = undefined
    if (wire === undefined) return
    const next = await this.byName(wire)
    const revoked = this.owned.minus(next)
    const added = next.minus(this.owned)
    if (revoked.size > 0) {
      await this.runUserHook('onRevoke', revoked.toGroups())
      if (this.lostReason !== undefined) return
      this.setOwned(this.owned.minus(revoked))
      this.heartbeat.now()
    }
    if (this.lostReason !== undefined || this.closing) return
    if (added.size > 0) {
      this.setOwned(new PartitionSet([...this.owned, ...added]))
      this.heartbeat.now()
    }
    await this.runUserHook('onAssign', added.toGroups())
    if (this.sm.state !== 'reconciling') return
    if (this.lostReason === undefined && !this.closing) this.sm.transitionTo(this.pending === undefined ? 'stable' : 'reconciling')
  }

  protected async handleLost(): Promise<void> {
    this.sm.transitionTo('lost')
    this.heartbeat.stop()
    const lost = this.owned.toGroups()
    this.setOwned(new PartitionSet())
    this.epoch = 0
    this.pending = undefined
    if (lost.length > 0) await this.runUserHook('onLost', lost)
    this.lostReason = undefined
    if (this.closing || this.sm.state !== 'lost') return
    this.sm.transitionTo('joining')
    this.heartbeat.start()
  }

  protected stopTimers(): void {
    this.heartbeat.stop()
  }

  protected ownedGroups(): TopicPartitions[] {
    return this.owned.toGroups()
  }

  /** A leaving heartbeat: epoch -1, or -2 for a static member, which keeps its assignment for a while. */
  protected async leaveGroup(lost: boolean): Promise<void> {
    this.setOwned(new PartitionSet())
    if (this.epoch > 0 && !lost) {
      this.leaveEpoch = this.o.groupInstanceId === null ? -1 : -2
      try {
        const res = await this.heartbeat.once()
        if (res.errorCode !== KafkaErrorCode.NONE && res.errorCode !== KafkaErrorCode.UNKNOWN_MEMBER_ID) {
          this.o.report(new MembershipError('GROUP_LEAVE_FAILED', 'the coordinator refused the leaving heartbeat; it will remove this member after its session timeout', { cause: kafkaError(res.errorCode) }))
        }
      } catch (err) {
        this.o.report(new MembershipError('GROUP_LEAVE_FAILED', 'the leaving heartbeat could not be sent; the coordinator will remove this member after its session timeout', { cause: err }))
      }
    }
    this.epoch = 0
  }

  private request(version: number): ConsumerGroupHeartbeatRequestInit {
    const identity = { groupId: this.groupId, memberId: this.memberIdValue, instanceId: this.o.groupInstanceId }
    if (this.leaveEpoch !== undefined) return { ...identity, memberEpoch: this.leaveEpoch }
    const pattern = this.subscription instanceof RegExp ? this.subscription : undefined
    const regex = pattern !== undefined && version >= 1
    return {
      ...identity,
      memberEpoch: this.epoch,
      rackId: this.o.rackId,
      rebalanceTimeoutMs: this.o.rebalanceTimeoutMs,
      // Both fields every time (v1+): names and an empty regex, or a regex and no names, as
      // librdkafka sends them; some coordinators (librdkafka's mock) insist on the pair.
      subscribedTopicNames: regex ? [] : pattern !== undefined ? [...this.patternTopics] : [...((this.subscription as readonly string[] | undefined) ?? [])],
      subscribedTopicRegex: version >= 1 ? (regex ? pattern.source : '') : null,
      serverAssignor: this.o.serverAssignor,
      // Always the full list: the coordinator compares it with what it assigned to see revocations done.
      topicPartitions: this.epoch === 0 ? [] : this.ownedById(),
    }
  }

  private answered(res: ConsumerGroupHeartbeatResponse, sent: ConsumerGroupHeartbeatRequestInit): void {
    if (res.errorCode !== KafkaErrorCode.NONE) {
      this.onError(groupErrorAction(res.errorCode), res.errorCode, res.errorMessage)
      return
    }
    if (sent.memberEpoch < 0) return
    if (res.memberId !== null && res.memberId !== '' && res.memberId !== this.memberIdValue) this.memberIdValue = res.memberId
    if (res.memberEpoch !== this.epoch) {
      this.epoch = res.memberEpoch
      for (const listener of this.epochListeners) listener()
    }
    if (res.assignment !== null) {
      this.pending = res.assignment.topicPartitions
      this.waker.wake()
    }
  }

  private onError(action: GroupErrorAction, errorCode: number, message: string | null): void {
    const remedy = FATAL_REMEDY.get(errorCode)
    if (remedy !== undefined) {
      this.fail(new MembershipError('GROUP_FATAL', `the coordinator refused this member: ${remedy}${message === null ? '' : ` (${message})`}`, { cause: kafkaError(errorCode, { api: 'ConsumerGroupHeartbeat', groupId: this.groupId }) }))
      return
    }
    switch (action) {
      case 'fenced-epoch':
      case 'unknown-member':
        this.lose(action)
        break
      case 'coordinator':
        this.o.transport.coordinatorLost()
        break
      case 'fatal':
        this.fail(kafkaError(errorCode, { api: 'ConsumerGroupHeartbeat', groupId: this.groupId }))
        break
      default:
        // Transient (or a classic-only code): the next heartbeat tries again.
        break
    }
  }

  private lose(reason: LostReason): void {
    this.lostReason ??= reason
    this.heartbeat.stop()
    this.waker.wake()
  }

  private unsendable(error: BatonError): void {
    if (error instanceof UnsupportedVersionError) {
      this.fail(
        new MembershipError(
          'GROUP_FATAL',
          'the group coordinator does not support the consumer group protocol (KIP-848, ConsumerGroupHeartbeat); use groupProtocol "classic", or Apache Kafka 4.0 or newer',
          { cause: error },
        ),
      )
      return
    }
    this.fail(error)
  }

  protected fail(error: BatonError): void {
    this.failure ??= error
    this.heartbeat.stop()
    if (this.sm.state !== 'fatal' && this.sm.state !== 'leaving' && this.sm.state !== 'closed') this.sm.transitionTo('fatal')
    if (!this.closedUnderIt(error)) this.o.report(error)
    this.waker.wake()
  }

  private setOwned(next: PartitionSet): void {
    this.ownershipChanges++
    for (const key of [...this.ownedSince.keys()]) if (!next.has(parseKey(key))) this.ownedSince.delete(key)
    for (const tp of next) if (!this.ownedSince.has(keyOf(tp))) this.ownedSince.set(keyOf(tp), this.ownershipChanges)
    this.owned = next
  }

  /** Topic ids to names; ids not known yet are looked up once, and a topic deleted meanwhile is skipped. */
  private async byName(wire: WireAssignment): Promise<PartitionSet> {
    if (wire.some((t) => !this.topicNames.has(t.topicId)) && this.o.metadata.topicNamesById !== undefined) {
      try {
        for (const [id, name] of await this.o.metadata.topicNamesById()) {
          this.topicNames.set(id, name)
          this.topicIds.set(name, id)
        }
      } catch (err) {
        this.o.report(new MembershipError('GROUP_METADATA', 'looking up the topics of an assignment failed; partitions of unknown topics wait for the next assignment', { cause: err }))
      }
    }
    const out = new PartitionSet()
    for (const t of wire) {
      const topic = this.topicNames.get(t.topicId)
      if (topic === undefined) continue
      for (const partition of t.partitions) out.add({ topic, partition })
    }
    return out
  }

  private ownedById(): { topicId: string; partitions: number[] }[] {
    return this.owned.toGroups().flatMap((g) => {
      const topicId = this.topicIds.get(g.topic)
      return topicId === undefined ? [] : [{ topicId, partitions: [...g.partitions] }]
    })
  }

  private async resolvePattern(): Promise<void> {
    if (!(this.subscription instanceof RegExp)) return
    const pattern = this.subscription
    try {
      this.patternTopics = (await this.o.metadata.listTopics()).filter((t) => pattern.test(t))
    } catch (err) {
      this.o.report(new MembershipError('GROUP_METADATA', 'listing topics for the subscription pattern failed', { cause: err }))
    }
  }

  private runUserHook(name: MemberHookName, partitions: TopicPartitions[]): Promise<void> {
    return runMemberHook(this.o, name, partitions)
  }

  private identity(): HeartbeatIdentity {
    return { memberId: this.memberIdValue, generationId: this.epoch, groupInstanceId: this.o.groupInstanceId }
  }

  private commitIdentity(): HeartbeatIdentity | CommitFailedError {
    const state = this.sm.state
    const live = state === 'stable' || state === 'reconciling' || state === 'leaving'
    if (!live || this.epoch <= 0 || this.lostReason !== undefined) {
      return new CommitFailedError('GROUP_COMMIT_NOT_MEMBER', `this member holds no epoch in the group (state ${state}), so it cannot commit; its partitions may belong to another member`)
    }
    return this.identity()
  }

  protected commitContext(): CommitContext {
    const askedAt = new Map(this.ownedSince)
    const epochWhenAsked = this.epoch
    return {
      ...commitBasics(this.o),
      identity: () => this.commitIdentity(),
      holds: (sentAs) => this.lostReason === undefined && this.memberIdValue === sentAs.memberId && this.epoch === sentAs.generationId,
      afterRebalance: (offsets, until, refusal) => this.afterNewEpoch(askedAt, epochWhenAsked, offsets, until, refusal),
      outcome: (action) => {
        if (action === 'fenced-epoch' || action === 'unknown-member') this.lose(action)
        else if (action === 'coordinator') this.o.transport.coordinatorLost()
      },
    }
  }

  /**
   * For a commit refused with STALE_MEMBER_EPOCH: resolves once the member holds a newer epoch, with
   * the offsets of partitions it has owned without a break since the commit was asked for.
   */
  private afterNewEpoch(
    askedAt: ReadonlyMap<string, number>,
    epochWhenAsked: number,
    offsets: readonly CommitOffset[],
    until: number,
    refusal: CommitFailedError,
  ): Promise<Resend | CommitFailedError> {
    const settle = (): Resend | CommitFailedError => {
      const identity = this.commitIdentity()
      if (identity instanceof CommitFailedError) return identity
      const heldThroughout = (o: CommitOffset): boolean => {
        const key = keyOf(o)
        return askedAt.has(key) && this.ownedSince.get(key) === askedAt.get(key)
      }
      return { identity, offsets: offsets.filter(heldThroughout), dropped: offsets.filter((o) => !heldThroughout(o)) }
    }
    if (this.epoch !== epochWhenAsked) return Promise.resolve(settle())
    if (this.closing && this.sm.state !== 'leaving') return Promise.resolve(notResent(refusal, 'the member is closing'))
    return awaitResend(
      this.o.timers,
      until,
      () => notResent(refusal, "no newer member epoch arrived within the commit's timeout"),
      (finish) => {
        const onEpoch = (): void => finish(settle())
        this.epochListeners.add(onEpoch)
        this.heartbeat.now()
        return () => this.epochListeners.delete(onEpoch)
      },
    )
  }
}

function parseKey(key: string): TopicPartition {
  const at = key.indexOf('@')
  return { partition: Number(key.slice(0, at)), topic: key.slice(at + 1) }
}
