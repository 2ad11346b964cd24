/**
 * The subscribing consumer: a `GroupMember` decides which partitions this process owns, and the
 * client's `Consumer` (its fetcher, buffers and positions) fetches them.
 *
 * The member drives the consumer from its awaited hooks (group-assignment.ts): an assignment is
 * read from the committed offsets and held paused until the user's `onAssign` settles; a revoked
 * or lost partition stops being handed out at once.
 *
 * Group requests go over connections of their own (`ClusterGroupTransport`): JoinGroup can be held
 * by the coordinator for a whole rebalance and must not queue the fetches, nor the member's own
 * commits, behind it.
 */
import type { BatonError } from '../../protocol/errors/base.js'
import { ConfigError, ConsumerCrashedError } from '../errors.js'
import { ClusterGroupTransport, ClusterMetadataSource } from '../membership/cluster-adapter.js'
import type { CommitOffset } from '../membership/commit.js'
import type { CommittedOffset } from '../membership/committed.js'
import type { GroupMembership, MembershipState, MembershipStateListener } from '../membership/group-membership.js'
import { ConsumerGroupMember } from '../membership/kip848/member.js'
import { GroupMember } from '../membership/member.js'
import { flatten, partitionKey, type TopicPartitions } from '../membership/topic-partitions.js'
import { Consumer, CONSUMER_OPTION_NAMES, type ConsumerBatch, type ConsumerRecord, type PauseOptions, type StartOffset, type TopicPartition } from './consumer.js'
import { PartitionNotOwnedError } from './group-consumer-errors.js'
import { assigned, released, type AssignmentContext, type Consumed, type HandedOut, type Owned } from './group-assignment.js'
import type { ConsumerGroupMetadata } from '../producer/transaction-manager.js'
import { GROUP_CONSUMER_OPTION_NAMES, resolveAssignors, resolveGroupProtocol, type ClosableGroupTransport, type GroupConsumerConfig } from './group-consumer-options.js'
import { MembershipError } from '../membership/errors.js'
import { resolveLogger } from '../config.js'
import { pickKeys, refuseUnknownKeys } from '../option-names.js'
import { warnOf } from '../../net/logger.js'

export type { GroupConsumerConfig, AssignorName, ClosableGroupTransport, GroupConsumerFaults } from './group-consumer-options.js'
export { AssignmentFailedError, PartitionNotOwnedError } from './group-consumer-errors.js'
export type { CommitOffset } from '../membership/commit.js'
export type { CommittedOffset } from '../membership/committed.js'

export interface GroupConsumerBatch extends ConsumerBatch {
  /** Where this partition continues after the batch; commit it to mark the batch consumed. */
  readonly nextOffset: bigint
}

export class GroupConsumer implements AsyncIterable<ConsumerRecord> {
  readonly groupId: string
  readonly groupInstanceId: string | null
  /** The fetching consumer underneath; its assignment follows the member's. */
  private readonly consumer: Consumer
  private readonly transport: ClosableGroupTransport
  private readonly member: GroupMembership
  private readonly hooks: GroupConsumerConfig['hooks']
  private readonly report: (error: BatonError) => void
  private readonly pollTickMs: number | undefined
  private readonly owned = new Map<string, Owned>()
  private readonly userPaused = new Set<string>()
  private readonly consumed = new Map<string, Consumed>()
  private inner: AsyncGenerator<ConsumerBatch, void, undefined> | undefined
  /** The rest of a batch the record iterator is working through. */
  private pending: { batch: GroupConsumerBatch; key: string; index: number; from: HandedOut } | undefined
  private readonly handedOut = new WeakMap<GroupConsumerBatch, HandedOut>()
  private failure: BatonError | undefined
  private closing: Promise<void> | undefined
  /** What the member's hooks work on (group-assignment.ts). */
  private readonly hookState: AssignmentContext
  /** Set once `faults.crash` fired: the connections closing. */
  private crashed: Promise<void> | undefined

  /** @throws ConfigError naming a wrong option. */
  constructor(config: GroupConsumerConfig) {
    if (typeof config === 'object' && config !== null) refuseUnknownKeys('', config, GROUP_CONSUMER_OPTION_NAMES)
    const protocol = resolveGroupProtocol(config)
    const assignors = protocol === 'classic' ? resolveAssignors(config) : []
    this.groupId = config.groupId
    this.groupInstanceId = config.groupInstanceId ?? null
    this.hooks = config.hooks
    const logger = resolveLogger(config.logger)
    this.report = warnOf(logger)
    this.consumer = new Consumer(pickKeys(config, CONSUMER_OPTION_NAMES))
    const rebalanceTimeoutMs = config.rebalanceTimeoutMs ?? 60_000
    const coordinator = new ClusterGroupTransport(this.consumer.cluster, config.groupId, rebalanceTimeoutMs)
    const crash = config.faults?.crash
    const transport = crash === undefined ? coordinator : refusedAfter(crash, coordinator)
    this.transport = config.faults?.groupTransport?.(transport) ?? transport
    // Waiting in the iterator counts as polling; a tick at a third of the interval keeps it alive.
    this.pollTickMs = config.maxPollIntervalMs === undefined ? undefined : Math.max(1, Math.floor(config.maxPollIntervalMs / 3))
    try {
      const hooks = {
        onAssign: (groups: TopicPartitions[]) => assigned(this.hookState, flatten(groups)),
        onRevoke: (groups: TopicPartitions[]) => released(this.hookState, groups, this.hooks?.onRevoke),
        onLost: (groups: TopicPartitions[]) => released(this.hookState, groups, this.hooks?.onLost),
      }
      const shared = {
        groupId: config.groupId,
        transport: this.transport,
        metadata: new ClusterMetadataSource(this.consumer.cluster),
        rebalanceTimeoutMs,
        ...(config.groupInstanceId === undefined ? {} : { groupInstanceId: config.groupInstanceId }),
        ...(config.rackId === undefined ? {} : { rackId: config.rackId }),
        ...(config.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: config.sessionTimeoutMs }),
        ...(config.retryBackoffMs === undefined ? {} : { retryBackoffMs: config.retryBackoffMs }),
        hooks,
      }
      this.member =
        protocol === 'consumer'
          ? new ConsumerGroupMember({ ...shared, onError: this.report, ...(config.serverAssignor === undefined ? {} : { serverAssignor: config.serverAssignor }) })
          : new GroupMember({
              ...shared,
              logger,
              assignors,
              ...(config.heartbeatIntervalMs === undefined ? {} : { heartbeatIntervalMs: config.heartbeatIntervalMs }),
              ...(config.maxPollIntervalMs === undefined ? {} : { maxPollIntervalMs: config.maxPollIntervalMs }),
              ...(config.metadataMaxAgeMs === undefined ? {} : { metadataMaxAgeMs: config.metadataMaxAgeMs }),
            })
    } catch (error) {
      // The membership checks its own options (ConfigError naming the option); nothing may stay open.
      this.consumer.close().catch(() => undefined)
      if (error instanceof RangeError) throw new ConfigError(error.message.split(' ')[0] ?? 'group', error.message)
      throw error
    }
    this.hookState = {
      member: this.member,
      consumer: this.consumer,
      hooks: this.hooks,
      owned: this.owned,
      userPaused: this.userPaused,
      consumed: this.consumed,
      closing: () => this.closing !== undefined,
      fail: (error) => this.fail(error),
    }
    if (crash !== undefined) {
      const die = (): void => {
        // A dead process does not hear how its sockets closed.
        this.crashed ??= (async () => {
          await coordinator.close()
          await this.consumer.close()
        })().catch(() => undefined)
      }
      if (crash.aborted) die()
      else crash.addEventListener('abort', die, { once: true })
    }
    this.member.onStateChange((to) => {
      if (to !== 'fatal') return
      this.failure ??= this.member.failure
      // Ends a waiting iterator, which then throws the failure.
      this.consumer.close().catch(() => undefined)
    })
  }

  get state(): MembershipState {
    return this.member.state
  }

  get memberId(): string {
    return this.member.memberId
  }

  get generationId(): number {
    return this.member.generationId
  }

  /**
   * The group's metadata as it stands now, for `producer.sendOffsets(offsets, consumer.groupMetadata())`:
   * the transaction coordinator refuses offsets from a generation the group has left (KIP-447),
   * so a member that lost its partitions cannot commit a transaction's offsets for them.
   */
  groupMetadata(): ConsumerGroupMetadata {
    return { groupId: this.groupId, generationId: this.member.generationId, memberId: this.member.memberId, groupInstanceId: this.groupInstanceId }
  }

  /** `eager` or `cooperative`, from the assignors. */
  get protocol(): string {
    return this.member.protocol
  }

  /** How long the group coordinator has been out of reach; 0 while a connection to it is open. */
  get unreachableMs(): number {
    return this.transport.unreachableMs?.() ?? 0
  }

  /** What the membership waits for now, in words for a log line; undefined when stable. */
  get waitingFor(): string | undefined {
    const unreachable = this.unreachableMs
    if (unreachable > 0) return `an answer from the coordinator of group ${JSON.stringify(this.groupId)} (none for ${Math.round(unreachable / 1000)} s)`
    switch (this.member.state) {
      case 'stable':
      case 'closed':
      case 'fatal':
        return undefined
      case 'unjoined':
      case 'joining':
        return (
          `group ${JSON.stringify(this.groupId)} to complete its rebalance (JoinGroup): the coordinator answers once every member has ` +
          'rejoined, or once the session of a member that stopped without leaving has expired (its session timeout)'
        )
      case 'syncing':
        return `the assignment of group ${JSON.stringify(this.groupId)} from its leader (SyncGroup)`
      case 'reconciling':
        return 'the rebalance hooks: partitions the coordinator moved being drained, committed and acknowledged (KIP-848)'
      case 'assigning':
      case 'revoking':
        return 'the rebalance hooks: revoked partitions being drained and committed'
      case 'lost':
      case 'leaving':
        return `group ${JSON.stringify(this.groupId)} to be left or rejoined`
    }
  }

  onStateChange(listener: MembershipStateListener): () => void {
    return this.member.onStateChange(listener)
  }

  /** Joins the group for these topics, or every topic matching the pattern. Calling it again changes the subscription (a rebalance). */
  subscribe(topics: readonly string[] | RegExp): void {
    if (!(topics instanceof RegExp)) {
      if (!Array.isArray(topics) || topics.length === 0 || topics.some((t) => typeof t !== 'string' || t.length === 0)) {
        throw new ConfigError('subscribe(topics)', 'give a non-empty array of topic names, or a RegExp')
      }
    }
    this.member.subscribe(topics)
    // Starts the periodic metadata refresh; the member and the fetcher refresh on demand anyway.
    // A failure here shows up again, with context, in the member's own requests.
    this.consumer.connect().catch(() => undefined)
  }

  /** Partitions owned now (including those being revoked, until their hook settles). */
  assignment(): TopicPartition[] {
    return [...this.owned.values()].map(({ topic, partition }) => ({ topic, partition }))
  }

  /**
   * Stops handing out these owned partitions until `resume`; a batch already handed out is not
   * recalled. Fetching stops too, unless `prefetch` asks to keep the buffers filled (see `Consumer.pause`).
   */
  pause(partitions: readonly TopicPartition[], options: PauseOptions = {}): void {
    for (const tp of partitions) this.requireOwned(tp, 'pause')
    for (const tp of partitions) this.userPaused.add(partitionKey(tp))
    this.consumer.pause(partitions, options)
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.requireOwned(tp, 'resume')
    for (const tp of partitions) this.userPaused.delete(partitionKey(tp))
    this.consumer.resume(partitions.filter((tp) => this.owned.get(partitionKey(tp))?.held === false))
  }

  paused(): TopicPartition[] {
    return [...this.owned.values()].filter((o) => this.userPaused.has(partitionKey(o))).map(({ topic, partition }) => ({ topic, partition }))
  }

  /**
   * Moves an owned partition: the next records handed out start at `offset` ('earliest' and
   * 'latest' are looked up from the partition's leader by the next fetch). Nothing fetched before
   * the seek is handed out after it, not even the rest of a batch the record iterator was in;
   * a batch `batches()` handed out already is not recalled (`isStale` tells). With an offset,
   * `position` and the default `commit()` move there at once; with 'earliest'/'latest', `position`
   * once the leader has answered, the default `commit()` once records from there are handed out. Call it from `onAssign` to start a partition elsewhere than
   * its committed offset. A seek lasts until the partition is revoked: commit the new position if
   * its next owner should start there too.
   * @throws PartitionNotOwnedError for a partition not owned now, or being revoked.
   */
  seek(partition: TopicPartition, offset: StartOffset): void {
    const key = partitionKey(partition)
    const entry = this.owned.get(key)
    if (entry === undefined || entry.revoking) {
      throw new PartitionNotOwnedError(partition.topic, partition.partition, 'seek', 'seek only partitions in assignment(), for example from the onAssign hook')
    }
    this.consumer.seek(partition, offset)
    entry.seeks++
    if (typeof offset === 'bigint') this.consumed.set(key, { offset, leaderEpoch: -1 })
    else this.consumed.delete(key)
  }

  /** Where the partitions' logs start or end now (`Consumer.offsetsFor`): a seek target known at once. */
  offsetsFor(partitions: readonly TopicPartition[], which: 'earliest' | 'latest'): Promise<Array<TopicPartition & { offset: bigint }>> {
    return this.consumer.offsetsFor(partitions, which)
  }

  /**
   * Whether a batch from `batches()` was overtaken since it was handed out: its partition was
   * seeked, revoked or lost. For code that takes batches in one place and seeks in another.
   */
  isStale(batch: GroupConsumerBatch): boolean {
    const from = this.handedOut.get(batch)
    return from !== undefined && !this.isCurrent(from)
  }

  /**
   * Commits under the current generation: the given offsets (the next offset to read, per
   * partition), or by default where the application has got to on every owned partition.
   * A rebalance under way is waited out: the offsets then go under the new generation for the
   * partitions owned throughout (`GroupMember.commit`).
   * @throws PartitionNotOwnedError for a partition not owned now; CommitFailedError with
   * `GROUP_COMMIT_REBALANCE` if the group moved on (the offsets were not stored, and are never
   * sent under a newer generation for a partition that may have moved).
   */
  async commit(offsets?: readonly CommitOffset[]): Promise<void> {
    const list: CommitOffset[] = offsets === undefined ? this.consumedOffsets() : offsets.map((o) => ({ ...o }))
    for (const o of list) this.requireOwned(o, 'commit an offset for')
    await this.member.commit(list)
  }

  /** The group's committed offsets for these partitions (null where none). */
  committed(partitions: readonly TopicPartition[]): Promise<CommittedOffset[]> {
    return this.member.committed(partitions)
  }

  /**
   * The committed offset and metadata an owned partition was resumed from when this member was
   * assigned it (offset null: nothing was committed, fetching started per autoOffsetReset), as read
   * at that assignment, not since; undefined when the partition is not owned. Set before the
   * `onAssign` hook runs, so the hook can read what the previous owner left in the metadata.
   */
  resumedFrom(partition: TopicPartition): CommittedOffset | undefined {
    const resumed = this.owned.get(partitionKey(partition))?.resumedFrom
    return resumed === undefined ? undefined : { ...resumed }
  }

  /**
   * The next offset the application will be handed for an owned partition: after the last record
   * handed out or, before any since the assignment or the last seek, where fetching starts once
   * known ('earliest' and 'latest' are known once the leader has answered).
   */
  position(partition: TopicPartition): bigint | undefined {
    const key = partitionKey(partition)
    const consumed = this.consumed.get(key)
    if (consumed !== undefined) return consumed.offset
    const entry = this.owned.get(key)
    if (entry === undefined || entry.revoking) return undefined
    return this.consumer.position(partition) ?? undefined
  }

  /**
   * One partition's fetched records at a time, for owned partitions only, until close(). Throws a
   * partition's fetch error when reached (the next call goes on), or the member's fatal failure.
   */
  async *batches(): AsyncGenerator<GroupConsumerBatch, void, undefined> {
    for (;;) {
      const batch = await this.nextBatch()
      if (batch === undefined) return
      yield batch
    }
  }

  /** Records one at a time. Leaving the loop early loses nothing: the next loop goes on from there. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsumerRecord, void, undefined> {
    for (;;) {
      let pending = this.pending
      // Checked before every record: a revocation or a seek mid-batch stops the rest of it at once.
      if (pending === undefined || pending.index >= pending.batch.records.length || !this.isCurrent(pending.from)) {
        const batch = await this.nextBatch()
        if (batch === undefined) return
        pending = this.pending = { batch, key: partitionKey(batch), index: 0, from: this.handedOut.get(batch)! }
      }
      const { batch } = pending
      const record = batch.records[pending.index++]!
      const next = pending.index < batch.records.length ? record.offset + 1n : batch.nextOffset
      this.consumed.set(pending.key, { offset: next, leaderEpoch: record.leaderEpoch })
      yield record
    }
  }

  /**
   * Revokes the owned partitions (`onRevoke`, where a commit still succeeds), leaves the group
   * (static members do not, KIP-345), and closes the connections. Safe to call more than once.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      await this.crashed
      try {
        // Outside any generation, owning nothing, with the coordinator out of reach (a start that
        // never reached the brokers): there is nothing to revoke or leave, and waiting for the
        // member's coordinator lookup would only hold the stop.
        const nothingToLeave = this.member.generationId <= 0 && this.owned.size === 0 && this.unreachableMs > 0
        await Promise.all([this.member.close(), nothingToLeave ? this.closeConnections() : undefined])
      } finally {
        await this.closeConnections()
      }
    })()
    const closing = this.closing
    if (options.timeoutMs !== undefined) {
      // Whatever the group is doing (a JoinGroup parked until a crashed member's session expires),
      // closing the connections under it makes its request fail now, and the member's loop ends.
      const timer = setTimeout(() => {
        this.report(
          new MembershipError('GROUP_CLOSE_TIMEOUT', `the group did not let this member leave within ${options.timeoutMs} ms (${this.waitingFor ?? 'no step under way'}); closing its connections`),
        )
        this.closeConnections().catch(() => undefined)
      }, options.timeoutMs)
      const clear = (): void => clearTimeout(timer)
      closing.then(clear, clear)
    }
    return closing
  }

  private async closeConnections(): Promise<void> {
    await Promise.all([this.consumer.close(), this.transport.close()])
  }

  private async nextBatch(): Promise<GroupConsumerBatch | undefined> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      this.member.poll()
      this.inner ??= this.consumer.batches()
      let result: IteratorResult<ConsumerBatch, void>
      try {
        result = await this.polling(this.inner.next())
      } catch (error) {
        // A generator that threw is finished; the next call starts a fresh one over the same fetcher.
        this.inner = undefined
        throw error
      }
      if (result.done === true) {
        // The failure may have been set while waiting (the member failed, which closed the consumer).
        const failure = this.failedWith()
        if (failure !== undefined) throw failure
        return undefined
      }
      const batch = result.value
      const key = partitionKey(batch)
      const entry = this.owned.get(key)
      // Fetched before the partition was revoked: its next owner reads these records from the commit.
      // Or overtaken by a seek while it came up from the fetcher.
      if (entry === undefined || entry.revoking || this.consumer.isStale(batch)) continue
      const last = batch.records.at(-1)
      if (last === undefined) continue
      const position = this.consumer.assignment().some((tp) => partitionKey(tp) === key) ? this.consumer.position(batch) : null
      const nextOffset = position !== null && position > last.offset ? position : last.offset + 1n
      this.consumed.set(key, { offset: nextOffset, leaderEpoch: last.leaderEpoch })
      const handed: GroupConsumerBatch = { ...batch, nextOffset }
      this.handedOut.set(handed, { entry, seeks: entry.seeks })
      return handed
    }
  }

  /** Awaits the next fetched batch, telling the member the application is still polling while it waits. */
  private async polling<T>(next: Promise<T>): Promise<T> {
    if (this.pollTickMs === undefined) return next
    const timer = setInterval(() => this.member.poll(), this.pollTickMs)
    timer.unref()
    try {
      return await next
    } finally {
      clearInterval(timer)
    }
  }

  private consumedOffsets(): CommitOffset[] {
    const offsets: CommitOffset[] = []
    for (const [key, c] of this.consumed) {
      const owned = this.owned.get(key)
      if (owned !== undefined) offsets.push({ topic: owned.topic, partition: owned.partition, offset: c.offset, leaderEpoch: c.leaderEpoch })
    }
    return offsets
  }

  private failedWith(): BatonError | undefined {
    return this.failure
  }

  /** The partition is still owned by the same assignment, not being revoked, and not seeked since. */
  private isCurrent(from: HandedOut): boolean {
    const { entry } = from
    return this.owned.get(partitionKey(entry)) === entry && !entry.revoking && entry.seeks === from.seeks
  }

  private requireOwned(tp: TopicPartition, what: string): void {
    if (!this.owned.has(partitionKey(tp))) throw new PartitionNotOwnedError(tp.topic, tp.partition, what)
  }

  private fail(error: BatonError): void {
    this.failure ??= error
    this.report(error)
    // Not awaited: this runs inside a hook, and the member's close waits for its hooks.
    this.close().catch(() => undefined)
  }
}

/** The coordinator connection of a consumer that `faults.crash` can kill: once it fires, every request is refused. */
function refusedAfter(crash: AbortSignal, coordinator: ClosableGroupTransport): ClosableGroupTransport {
  return {
    send: (api, body) => (crash.aborted ? Promise.reject(new ConsumerCrashedError()) : coordinator.send(api, body)),
    coordinatorLost: () => coordinator.coordinatorLost(),
    close: () => coordinator.close(),
  }
}
