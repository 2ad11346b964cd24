/**
 * The lab's Kafka consumer: baton's own (`GroupConsumer` under the framework's `GroupConsumerPort`),
 * with what the lab needs around it: ownership reported to the lab as it changes, the offsets this
 * member committed, and a crash (the group consumer's `faults.crash`).
 *
 * Every strategy runs on it: `baton` hands it to the framework as its `ConsumerPort`; the
 * plain-client strategies drive the same port themselves. So the strategies differ only in what
 * they do with records and rebalances, never in the client underneath.
 */
import { ConsumerCrashedError, errorLogger, partitionKey, type ConsumerGroupMetadata, type GroupConsumer, type MembershipState as MemberState } from '../../client/index.js'
import { GroupConsumerPort, type ConsumerEvents, type ConsumerPort, type OffsetToCommit, type TopicPartition } from '../../processing/index.js'

export type RebalanceProtocolChoice = 'eager' | 'cooperative' | 'kip848'

/** What the lab watches: who owns what, for the timeline and the rebalance timings. */
export interface OwnershipListener {
  assigned(consumerId: string, partitions: readonly number[]): void
  released(consumerId: string, partitions: readonly number[]): void
}

export interface LabConsumerOptions {
  consumerId: string
  bootstrap: readonly string[]
  groupId: string
  /**
   * eager: range assignor, every partition revoked at each rebalance; cooperative: cooperative-sticky
   * (KIP-429); kip848: the consumer group protocol (the coordinator assigns; its heartbeat interval
   * is the broker's, so `heartbeatIntervalMs` is not used).
   */
  protocol: RebalanceProtocolChoice
  sessionTimeoutMs: number
  rebalanceTimeoutMs: number
  heartbeatIntervalMs: number
  ownership?: OwnershipListener
  /** Errors the consumer recovers from or cannot surface elsewhere. */
  onError?: (error: unknown) => void
}

export class LabConsumer implements ConsumerPort {
  readonly consumerId: string
  private readonly port: GroupConsumerPort
  private readonly group: GroupConsumer
  private readonly killSwitch = new AbortController()
  private readonly ownedNow = new Map<string, TopicPartition>()
  private readonly committed = new Map<string, bigint>()
  private crashed = false

  constructor(private readonly options: LabConsumerOptions) {
    this.consumerId = options.consumerId
    this.port = new GroupConsumerPort({
      bootstrapServers: options.bootstrap,
      clientId: options.consumerId,
      groupId: options.groupId,
      ...(options.protocol === 'kip848'
        ? { groupProtocol: 'consumer' as const }
        : { assignors: [options.protocol === 'eager' ? ('range' as const) : ('cooperative-sticky' as const)], heartbeatIntervalMs: options.heartbeatIntervalMs }),
      sessionTimeoutMs: options.sessionTimeoutMs,
      rebalanceTimeoutMs: options.rebalanceTimeoutMs,
      // The lab's topic is written before any consumer starts: every group reads it from the start.
      autoOffsetReset: 'earliest',
      fetchMaxWaitMs: 100,
      logger: errorLogger((error) => this.report(error)),
      faults: { crash: this.killSwitch.signal },
    })
    this.group = this.port.consumer
  }

  get state(): MemberState {
    return this.group.state
  }

  get generationId(): number {
    return this.group.generationId
  }

  /** Partitions owned now, as the hooks have told this member. */
  owned(): number[] {
    return [...this.ownedNow.values()].map((tp) => tp.partition).sort((a, b) => a - b)
  }

  /** The last offset this member committed for a partition, if it committed one. */
  committedOffset(tp: TopicPartition): bigint | undefined {
    return this.committed.get(partitionKey(tp))
  }

  onStateChange(listener: (to: MemberState) => void): () => void {
    return this.group.onStateChange((to) => listener(to))
  }

  start(topics: readonly string[], events: ConsumerEvents): Promise<void> {
    return this.port.start(topics, this.observed(events))
  }

  pause(partitions: readonly TopicPartition[]): void {
    this.port.pause(partitions)
  }

  resume(partitions: readonly TopicPartition[]): void {
    this.port.resume(partitions)
  }

  async commit(offsets: readonly OffsetToCommit[]): Promise<void> {
    await this.port.commit(offsets)
    for (const o of offsets) this.committed.set(partitionKey(o), o.offset)
  }

  /**
   * The group, generation and member id, which a transaction's offsets carry (KIP-447). A crashed
   * member has none to give: its process is gone, so any transaction it had open is never committed.
   */
  groupMetadata(): ConsumerGroupMetadata {
    if (this.crashed) throw new ConsumerCrashedError()
    return this.port.groupMetadata()
  }

  /** Leaves the group gracefully (revoked partitions go through `onRevoke` first); after a crash, only releases what is left in this process. */
  close(): Promise<void> {
    return this.port.close()
  }

  /**
   * Dies on the spot: nothing more reaches the cluster (no commit, no LeaveGroup, no heartbeat), so
   * the coordinator evicts this member after the session timeout. Returns the partitions it owned.
   */
  crash(): number[] {
    const owned = this.owned()
    this.crashed = true
    this.options.ownership?.released(this.consumerId, owned)
    this.ownedNow.clear()
    this.killSwitch.abort()
    return owned
  }

  /** The events, with ownership reported on the way: assigned before the application hears of it, released once its hook is done. */
  private observed(events: ConsumerEvents): ConsumerEvents {
    const released = (partitions: readonly TopicPartition[]): void => {
      if (this.crashed) return
      for (const tp of partitions) this.ownedNow.delete(partitionKey(tp))
      this.options.ownership?.released(this.consumerId, partitions.map((tp) => tp.partition))
    }
    return {
      onAssign: async (partitions) => {
        if (!this.crashed && partitions.length > 0) {
          for (const tp of partitions) this.ownedNow.set(partitionKey(tp), tp)
          this.options.ownership?.assigned(this.consumerId, partitions.map((tp) => tp.partition))
        }
        await events.onAssign(partitions)
      },
      onRevoke: async (partitions) => {
        await events.onRevoke(partitions)
        released(partitions)
      },
      onLost: async (partitions) => {
        await events.onLost(partitions)
        released(partitions)
      },
      onBatch: (batch) => {
        if (!this.crashed) events.onBatch(batch)
      },
      onFatal: (error) => {
        if (!this.crashed) events.onFatal(error)
      },
    }
  }

  private report(error: unknown): void {
    if (!this.crashed) this.options.onError?.(error)
  }
}
