/**
 * What a strategy is to the lab: a way to run one consumer-group member over the lab's topic,
 * writing every record's effect through the shared sink. The lab starts, stops and crashes members;
 * the strategy decides how records are processed and when offsets are committed.
 */
import type { EffectSink } from '../effects.js'
import type { LabConsumer, OwnershipListener } from '../members/lab-consumer.js'

/** Group timings, shortened for the lab so that a crash costs seconds, not Kafka's 45 s. */
export interface LabTimeouts {
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly rebalanceTimeoutMs: number
  /** baton's drain deadline on revocation; below the rebalance timeout. */
  readonly drainTimeoutMs: number
}

export interface MemberContext {
  readonly consumerId: string
  readonly bootstrap: readonly string[]
  readonly topic: string
  readonly groupId: string
  readonly timeouts: LabTimeouts
  readonly sink: EffectSink
  readonly ownership: OwnershipListener
  /** Errors a member recovers from (a refused commit, a dropped connection): counted, not fatal. */
  readonly onError: (error: unknown) => void
}

export interface LabMember {
  readonly consumerId: string
  /** The member's Kafka consumer, for the lab's bookkeeping (ownership, commits, crash). */
  readonly consumer: LabConsumer
  /** Joins the group and starts processing; resolves once started. */
  start(): Promise<void>
  /** Leaves gracefully, as the strategy does on shutdown. Also releases what a crashed member still holds in this process. */
  stop(): Promise<void>
  /**
   * Dies on the spot: the consumer goes silent (see `LabConsumer.crash`) and the member's work
   * stops having effects. Whatever the member was doing is left for its partitions' next owners.
   */
  crash(): void
}

export interface Strategy {
  readonly name: string
  /** One line for the table's legend and the report: what this strategy does on a rebalance. */
  readonly summary: string
  createMember(context: MemberContext): LabMember
}
