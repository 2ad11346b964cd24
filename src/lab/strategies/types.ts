/**
 * What a strategy is to the lab: a way to run one consumer-group member over the lab's topic,
 * whose effects the lab counts where a user would see them. The lab starts, stops and crashes
 * members; the strategy decides how records are processed and when their progress is made durable.
 *
 * Most strategies write an effect from the handler, through the shared sink, the moment the work
 * completes. An exactly-once strategy writes it somewhere that keeps it only if the work's progress
 * is committed with it (a Kafka transaction's outputs, a database row); its session reads it back
 * from there (a read_committed reader, the table) and hands it to the sink's `observe`.
 */
import type { EffectSink } from '../effects.js'
import type { Expectation } from '../expectations.js'
import type { LabConsumer, OwnershipListener } from '../members/lab-consumer.js'
import type { Outcome } from '../verify.js'

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
  /**
   * Where this member's progress on a partition was last made durable, for a member that does not
   * commit through its consumer (a transaction, a database); asked right after a crash. Absent: the
   * consumer's own record of its commits.
   */
  committedOffset?(partition: number): Promise<bigint | undefined>
}

/** What a strategy's session gets for one run: the run's cluster, topic and group, and the sink. */
export interface RunContext {
  readonly bootstrap: readonly string[]
  readonly topic: string
  readonly groupId: string
  /** The lab run's id, for names (an output topic, a table) that must not collide with another run's. */
  readonly runId: string
  readonly partitions: number
  readonly timeouts: LabTimeouts
  readonly sink: EffectSink
  /** `--store`: a PostgreSQL connection string, or undefined for PGlite in this process. */
  readonly store: string | undefined
  /** Errors the session recovers from, counted like the members'. */
  readonly onError: (error: unknown) => void
}

/** One strategy in one run: what its members share (an output topic and its reader, a database). */
export interface StrategySession {
  createMember(context: MemberContext): LabMember
  /** Ends the run: every member has stopped; stops reading effects back and releases what `open` took. */
  close(): Promise<void>
}

export interface Strategy {
  readonly name: string
  /** One line for the table's legend and the report: what this strategy does on a rebalance. */
  readonly summary: string
  /** What the strategy promises, for the table's `guarantee` column: a few words. */
  readonly guarantee: string
  /** The result the lab expects of this strategy, judged in results.json. */
  readonly expectation: Expectation
  /** One sentence for the report: why this run's row has the duplicates it has. */
  explain(outcome: Outcome): string
  open(run: RunContext): Promise<StrategySession>
}

/** The session of a strategy whose members need nothing shared: effects are written by the handler. */
export function handlerEffects(createMember: (context: MemberContext) => LabMember): (run: RunContext) => Promise<StrategySession> {
  return () => Promise.resolve({ createMember, close: () => Promise.resolve() })
}
