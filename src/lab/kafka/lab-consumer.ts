/**
 * The lab's Kafka consumer: baton's group membership (`GroupMember`) plus a fetch loop, behind the
 * processing framework's `ConsumerPort`, so that the `baton` strategy runs the real framework and
 * the plain-client strategies run the same client underneath.
 *
 * It keeps the port's contract: rebalance hooks are awaited before partitions are released (the
 * member does that), commits go out under the current generation and a refused one rejects with
 * `StaleGenerationError`, and after an assignment a partition is fetched from its committed offset.
 *
 * `crash()` is the lab's fault: the member stops talking to the cluster at once (no commit, no
 * LeaveGroup, no more heartbeats), so the coordinator only notices after the session timeout, as
 * when a process is killed.
 */
import { Cluster } from '../../client/cluster.js'
import { resolveClientConfig } from '../../client/config.js'
import { rangeAssignor } from '../../client/group/assignors/range.js'
import { cooperativeStickyAssignor } from '../../client/group/assignors/sticky.js'
import { CommitFailedError } from '../../client/group/errors.js'
import { GroupMember } from '../../client/group/member.js'
import type { MemberState } from '../../client/group/state.js'
import type { TopicPartitions } from '../../client/group/topic-partitions.js'
import type { BatonError } from '../../protocol/errors/base.js'
import { KafkaErrorCode } from '../../protocol/errors/kafka-errors.js'
import { OffsetFetch } from '../../protocol/generated/index.js'
import type { ConsumerEvents, ConsumerPort, OffsetToCommit, TopicPartition } from '../../processing/consumer-port.js'
import { partitionKey } from '../../processing/consumer-port.js'
import { StaleGenerationError } from '../../processing/errors.js'
import { Fetcher, type FetchPosition } from './fetcher.js'
import { ClusterGroupTransport, ClusterMetadataSource } from './group-transport.js'

export type RebalanceProtocolChoice = 'eager' | 'cooperative'

/** What the lab watches: who owns what, for the timeline and the rebalance timings. */
export interface OwnershipListener {
  assigned(consumerId: string, partitions: readonly number[]): void
  released(consumerId: string, partitions: readonly number[]): void
}

export interface LabConsumerOptions {
  consumerId: string
  bootstrap: readonly string[]
  groupId: string
  /** eager: range assignor, every partition revoked at each rebalance; cooperative: cooperative-sticky (KIP-429). */
  protocol: RebalanceProtocolChoice
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number
  ownership?: OwnershipListener
  /** Errors the consumer recovers from or cannot surface elsewhere. */
  onError?: (error: unknown) => void
}

const FETCH_MAX_WAIT_MS = 100

export class LabConsumer implements ConsumerPort {
  readonly consumerId: string
  private readonly cluster: Cluster
  private readonly transport: ClusterGroupTransport
  private readonly member: GroupMember
  private readonly fetcher: Fetcher
  private readonly positions = new Map<string, FetchPosition>()
  private readonly committed = new Map<string, bigint>()
  private events: ConsumerEvents | undefined
  private crashed = false
  private closed: Promise<void> | undefined

  constructor(private readonly options: LabConsumerOptions) {
    this.consumerId = options.consumerId
    this.cluster = new Cluster(resolveClientConfig({ bootstrapServers: options.bootstrap, clientId: options.consumerId, retryBackoffMs: 50, retryBackoffMaxMs: 500 }))
    // JoinGroup is held by the coordinator for up to the rebalance timeout.
    this.transport = new ClusterGroupTransport(this.cluster, options.groupId, options.consumerId, options.rebalanceTimeoutMs + 5000)
    this.member = new GroupMember({
      groupId: options.groupId,
      transport: this.transport,
      metadata: new ClusterMetadataSource(this.cluster),
      assignors: [options.protocol === 'eager' ? rangeAssignor : cooperativeStickyAssignor],
      sessionTimeoutMs: options.sessionTimeoutMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs,
      heartbeatIntervalMs: options.heartbeatIntervalMs,
      retryBackoffMs: 50,
      hooks: {
        onAssign: (groups) => this.onAssign(flatten(groups)),
        onRevoke: (groups) => this.onRevoke(flatten(groups), 'revoke'),
        onLost: (groups) => this.onRevoke(flatten(groups), 'lost'),
      },
      onError: (error: BatonError) => this.report(error),
    })
    this.fetcher = new Fetcher({
      cluster: this.cluster,
      positions: () => this.positions.values(),
      isCurrent: (p) => !this.crashed && this.positions.get(partitionKey(p)) === p,
      deliver: (batch) => this.events?.onBatch(batch),
      maxWaitMs: FETCH_MAX_WAIT_MS,
      retryBackoffMs: 50,
      onError: (error) => this.report(error),
    })
  }

  get state(): MemberState {
    return this.member.state
  }

  get generationId(): number {
    return this.member.generationId
  }

  get isCrashed(): boolean {
    return this.crashed
  }

  /** Partitions owned now (as the member sees it). */
  owned(): number[] {
    return [...this.positions.values()].map((p) => p.partition).sort((a, b) => a - b)
  }

  /** The last offset this member committed for a partition, if it committed one. */
  committedOffset(tp: TopicPartition): bigint | undefined {
    return this.committed.get(partitionKey(tp))
  }

  onStateChange(listener: (to: MemberState) => void): () => void {
    return this.member.onStateChange((to) => listener(to))
  }

  async start(topics: readonly string[], events: ConsumerEvents): Promise<void> {
    this.events = events
    await this.cluster.connect()
    await this.cluster.waitForTopics(topics)
    this.fetcher.start()
    this.member.subscribe(topics)
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.positions.get(partitionKey(tp))
      if (p !== undefined) p.paused = true
    }
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      const p = this.positions.get(partitionKey(tp))
      if (p !== undefined) p.paused = false
    }
    this.fetcher.kick()
  }

  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    if (this.crashed) throw new StaleGenerationError('this consumer crashed; it has no generation to commit under')
    try {
      await this.member.commit(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset })))
    } catch (error) {
      if (error instanceof CommitFailedError && (error.code === 'GROUP_COMMIT_REBALANCE' || error.code === 'GROUP_COMMIT_NOT_MEMBER')) {
        throw new StaleGenerationError(error.message, this.member.generationId, { cause: error })
      }
      throw error
    }
    for (const o of offsets) this.committed.set(partitionKey(o), o.offset)
  }

  /** Leaves the group gracefully: revoked partitions go through `onRevoke` first. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      await this.member.close()
      await this.fetcher.stop()
      await this.transport.close()
      await this.cluster.close()
    })()
    return this.closed
  }

  /**
   * Dies on the spot: the sockets are closed before anything else can be sent, so the coordinator
   * hears nothing more (no LeaveGroup, no commit) and evicts this member after the session timeout.
   * Returns the partitions it owned.
   */
  crash(): number[] {
    const owned = this.owned()
    this.crashed = true
    this.transport.sever()
    this.options.ownership?.released(this.consumerId, owned)
    this.positions.clear()
    this.closed ??= (async () => {
      await Promise.all([this.transport.close(), this.cluster.close()])
      await this.fetcher.stop()
      // Stops the member's timers; with the transport severed its LeaveGroup never leaves the process.
      await this.member.close()
    })()
    return owned
  }

  private async onAssign(partitions: TopicPartition[]): Promise<void> {
    if (this.crashed) return
    const offsets = partitions.length === 0 ? new Map<string, bigint>() : await this.fetchCommitted(partitions)
    for (const tp of partitions) {
      this.positions.set(partitionKey(tp), { topic: tp.topic, partition: tp.partition, offset: offsets.get(partitionKey(tp)) ?? 0n, paused: false })
    }
    if (partitions.length > 0) this.options.ownership?.assigned(this.consumerId, partitions.map((p) => p.partition))
    await this.events?.onAssign(partitions)
    this.fetcher.kick()
  }

  private async onRevoke(partitions: TopicPartition[], how: 'revoke' | 'lost'): Promise<void> {
    if (this.crashed) return
    // Stop fetching first: whatever arrives for these partitions from now on is not ours to deliver.
    for (const tp of partitions) this.positions.delete(partitionKey(tp))
    if (how === 'revoke') await this.events?.onRevoke(partitions)
    else await this.events?.onLost(partitions)
    this.options.ownership?.released(this.consumerId, partitions.map((p) => p.partition))
  }

  /**
   * The committed offsets of newly assigned partitions; a partition with none starts at offset 0
   * (auto.offset.reset=earliest; the lab's topics are fresh and never truncated).
   */
  private async fetchCommitted(partitions: readonly TopicPartition[]): Promise<Map<string, bigint>> {
    const byTopic = new Map<string, number[]>()
    for (const tp of partitions) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition])
    const topics = [...byTopic].map(([name, partitionIndexes]) => ({ name, partitionIndexes }))
    const groupId = this.options.groupId
    for (let attempt = 0; ; attempt++) {
      const response = await this.transport.send(OffsetFetch, (version) =>
        version >= 8 ? { groups: [{ groupId, topics }], requireStable: true } : { groupId, topics, ...(version >= 7 ? { requireStable: true } : {}) },
      )
      const result = new Map<string, bigint>()
      let unstable = false
      const answer = response.groups.length > 0 ? (response.groups[0]?.topics ?? []) : response.topics
      const errorCode = response.groups.length > 0 ? (response.groups[0]?.errorCode ?? 0) : response.errorCode
      if (errorCode === KafkaErrorCode.COORDINATOR_LOAD_IN_PROGRESS || errorCode === KafkaErrorCode.NOT_COORDINATOR) unstable = true
      for (const topic of answer) {
        for (const p of topic.partitions) {
          // KIP-447: a commit still being written answers UNSTABLE_OFFSET_COMMIT; ask again rather than start early.
          if (p.errorCode === KafkaErrorCode.UNSTABLE_OFFSET_COMMIT) unstable = true
          else if (p.committedOffset >= 0n) result.set(`${topic.name}\u0000${p.partitionIndex}`, p.committedOffset)
        }
      }
      if (!unstable || attempt >= 20) return result
      if (errorCode === KafkaErrorCode.NOT_COORDINATOR) this.transport.coordinatorLost()
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  private report(error: unknown): void {
    if (this.crashed) return
    this.options.onError?.(error)
  }
}

function flatten(groups: readonly TopicPartitions[]): TopicPartition[] {
  return groups.flatMap((g) => g.partitions.map((partition) => ({ topic: g.topic, partition })))
}
