/**
 * Store mode: a record's effects, written through `ctx.tx`, and its partition's next offset commit
 * in one transaction on the application's database, so a crash can neither lose a record nor
 * apply one twice. The offsets live in the database (`../store/offset-store.ts`); Kafka's
 * committed offsets follow them, best effort, for lag tools.
 *
 * - assignment: each partition is claimed with the member's generation (KIP-848: member epoch);
 *   its worker starts at the database's offset, records between the group's and it are skipped as
 *   done. A claim refused (a later generation holds the partition) leaves the partition unworked,
 *   unless the coordinator shows the row's generation is gone (the group started over: deleted, or
 *   expired on the cluster) by accepting a commit under this member's: the claim is then taken over.
 * - records: run in the partition's open transaction, one savepoint per attempt
 *   (`./store-partition.ts`); many records per transaction, up to `maxRecords` or `maxMs`.
 * - commit: the offset is written last, conditional on the claim; a zombie's commit matches no
 *   row and its whole transaction rolls back (`StoreFencedError`). Then the same offsets go to
 *   Kafka (awaited on revocation and stop, in the background otherwise).
 * - revocation: drain, commit (as in every mode), then `released` rolls back anything left;
 *   loss: roll back at once.
 *
 * One transaction, and so one connection, per partition at a time: give the `pg` pool at least as
 * many connections as a member owns partitions, or partitions wait their turn for one. PGlite has
 * one connection and runs one transaction at a time: partitions take turns, each transaction
 * bounded by `maxRecords` and `maxMs`, and given up as soon as its partition's records pause while
 * another waits (`./store-partition.ts`).
 */
import { partitionKey } from '../../client/index.js'
import type { AssignedPartition, ConsumerPort, OffsetToCommit, TopicPartition } from '../consumer-port.js'
import { ProcessingAbortedError } from '../errors.js'
import type { Context, Step, Work } from '../handler.js'
import type { Logger } from '../logger.js'
import { StoreFencedError, type StoreTransactionError } from '../store/errors.js'
import type { OffsetStore, PartitionClaim } from '../store/offset-store.js'
import { PartitionTransactions } from './store-partition.js'
import type { CommitReason, Delivery } from './types.js'

export interface StoreDeliveryOptions {
  readonly store: OffsetStore
  readonly groupId: string
  readonly consumer: ConsumerPort
  readonly maxRecords: number
  readonly maxMs: number
  readonly logger: Logger
  /** A transaction broke (not fenced): the app stops; the records are redone from the database's offset. */
  readonly onFatal: (error: Error) => void
}

export class StoreDelivery implements Delivery {
  readonly mode = 'store'
  private readonly partitions = new Map<string, PartitionTransactions>()
  private schema: Promise<void> | undefined
  /** Offsets stored in the database and not yet committed to Kafka; one Kafka commit in flight. */
  private readonly toKafka = new Map<string, OffsetToCommit>()
  private kafkaRun: Promise<void> | undefined

  constructor(private readonly options: StoreDeliveryOptions) {}

  /** The route's attempt, run in the record's partition transaction: what `ctx.tx` is. */
  wrap(attempt: Step): Step {
    return (work: Work, ctx: Context) => {
      const partition = this.partitions.get(partitionKey(work))
      if (partition === undefined) {
        return Promise.reject(
          new ProcessingAbortedError('PROCESSING_PARTITION_LOST', `${work.topic}[${work.partition}] is not claimed in the store by this member; its owner processes the record`),
        )
      }
      return partition.run(work, ctx, attempt)
    }
  }

  async assigned(partitions: readonly AssignedPartition[]): Promise<readonly AssignedPartition[]> {
    const { store, groupId, logger } = this.options
    try {
      await (this.schema ??= store.ensureSchema())
    } catch (error) {
      this.schema = undefined
      this.options.onFatal(error as Error)
      return []
    }
    const generation = this.options.consumer.status?.().generationId ?? 0
    const starts: AssignedPartition[] = []
    for (const tp of partitions) {
      let claim
      try {
        ;[claim] = await store.claim(groupId, [tp], generation)
      } catch (error) {
        if (!(error instanceof StoreFencedError)) {
          this.options.onFatal(error as Error)
          return starts
        }
        claim = await this.takeOverFromGoneGroup(tp, generation, error)
      }
      if (claim === undefined) continue
      const key = partitionKey(tp)
      await this.partitions.get(key)?.release(gone(tp))
      this.partitions.set(key, this.partitionOf(claim))
      if (claim.nextOffset === null) {
        starts.push(tp)
        continue
      }
      if (tp.committed !== null && tp.committed.offset > claim.nextOffset) {
        logger.warn(
          { topic: tp.topic, partition: tp.partition, group: String(tp.committed.offset), store: String(claim.nextOffset) },
          "store mode: the group's committed offset is ahead of the database's (offsets reset by hand?); starting at the group's, the records in between are not processed",
        )
      }
      starts.push({ topic: tp.topic, partition: tp.partition, committed: { offset: claim.nextOffset, metadata: null } })
    }
    return starts
  }

  async commit(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void> {
    const now = reason === 'rebalance' || reason === 'shutdown'
    const work = offsets.map((o) => this.partitions.get(partitionKey(o))?.storeUpTo(o.offset, now) ?? Promise.resolve())
    const results = await Promise.allSettled(work)
    // The group sees the final position before the partitions move (its generation is still valid).
    if (now) await this.flushToKafka()
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed !== undefined) throw failed.reason
  }

  async released(partitions: readonly TopicPartition[]): Promise<void> {
    // Still inside the revocation, under a valid generation: the group gets the database's last
    // offsets even when the hand-off had nothing left to store (a background commit carried them).
    await this.flushToKafka()
    await this.letGo(partitions)
  }

  async lost(partitions: readonly TopicPartition[]): Promise<void> {
    await this.letGo(partitions)
  }

  async close(): Promise<void> {
    await this.letGo([...this.partitions.values()])
  }

  /** The offsets stored for `partitions`, as the database holds them (for tests and tools). */
  storedOffset(tp: TopicPartition): bigint | null | undefined {
    return this.partitions.get(partitionKey(tp))?.stored
  }

  private async letGo(partitions: readonly TopicPartition[]): Promise<void> {
    await Promise.all(
      partitions.map(async (tp) => {
        const key = partitionKey(tp)
        const partition = this.partitions.get(key)
        if (partition === undefined) return
        this.partitions.delete(key)
        this.toKafka.delete(key)
        await partition.release(gone(tp))
      }),
    )
  }

  /**
   * A claim refused because the row carries a later generation: this member's assignment is stale,
   * or the group started over at a lower generation (deleted, or expired on the cluster after
   * standing empty) and the row's claim belongs to a group that no longer exists. The coordinator
   * tells which: it accepts a commit only under the group's current generation. Accepted, the
   * member takes the row's claim over (only that claim: a member that claimed since wins); refused,
   * the partition is left to the later generation. Nothing is lost either way: the offset the
   * commit sends is the database's, and a take-over fences whoever held the claim.
   */
  private async takeOverFromGoneGroup(tp: AssignedPartition, generation: number, refusal: StoreFencedError): Promise<PartitionClaim | undefined> {
    const { store, groupId, logger, consumer } = this.options
    const heldBy = refusal.heldBy
    const leave = (err: unknown): undefined => {
      logger.warn({ err, topic: tp.topic, partition: tp.partition, generation }, 'store mode: a later generation claimed this partition; leaving it to that member')
      return undefined
    }
    if (heldBy === undefined) return leave(refusal)
    const offset = heldBy.nextOffset ?? tp.committed?.offset
    try {
      // Refused (StaleGenerationError) when this member's generation is the stale one.
      if (offset !== undefined) await consumer.commit([{ topic: tp.topic, partition: tp.partition, offset }])
    } catch (error) {
      return leave(error)
    }
    try {
      const claim = await store.takeOver(groupId, tp, generation, heldBy)
      logger.info(
        { topic: tp.topic, partition: tp.partition, generation, claimedBy: heldBy.generation },
        "store mode: the database's claim of this partition is from a later generation than the group's current one, so the group started over (deleted, or expired); taking the claim over",
      )
      return claim
    } catch (error) {
      if (error instanceof StoreFencedError) return leave(error)
      this.options.onFatal(error as Error)
      return undefined
    }
  }

  private partitionOf(claim: NonNullable<Awaited<ReturnType<OffsetStore['claim']>>[number]>): PartitionTransactions {
    const key = partitionKey(claim)
    const partition: PartitionTransactions = new PartitionTransactions({
      store: this.options.store,
      claim,
      maxRecords: this.options.maxRecords,
      maxMs: this.options.maxMs,
      stored: (offset) => {
        if (this.partitions.get(key) !== partition) return
        this.toKafka.set(key, { topic: claim.topic, partition: claim.partition, offset })
        void this.commitToKafka()
      },
      fenced: (error: StoreFencedError) => {
        this.options.logger.warn({ err: error, topic: claim.topic, partition: claim.partition }, 'store mode: this member is fenced for the partition; its open transaction was rolled back and its records are left to the owner')
      },
      broken: (error: StoreTransactionError) => {
        this.options.logger.error({ err: error, topic: claim.topic, partition: claim.partition }, error.message)
        this.options.onFatal(error)
      },
    })
    return partition
  }

  /** Waits for the Kafka commit in flight, then commits what is still pending. */
  private async flushToKafka(): Promise<void> {
    await this.commitToKafka()
    if (this.toKafka.size > 0) await this.commitToKafka()
  }

  /** Commits to Kafka what the database holds, one commit in flight; failures only delay it (lag tools see it later). */
  private commitToKafka(): Promise<void> {
    this.kafkaRun ??= this.runKafkaCommits().finally(() => (this.kafkaRun = undefined))
    return this.kafkaRun
  }

  private async runKafkaCommits(): Promise<void> {
    while (this.toKafka.size > 0) {
      const offsets = [...this.toKafka.values()]
      this.toKafka.clear()
      try {
        await this.options.consumer.commit(offsets)
      } catch (error) {
        // Kept for the next try (the next store commit, or the revocation), unless newer ones came.
        for (const o of offsets) {
          const key = partitionKey(o)
          if (this.partitions.has(key) && !this.toKafka.has(key)) this.toKafka.set(key, o)
        }
        this.options.logger.debug({ err: error }, "store mode: committing the database's offsets to Kafka failed; the next commit carries them")
        return
      }
    }
  }
}

function gone(tp: TopicPartition): ProcessingAbortedError {
  return new ProcessingAbortedError('PROCESSING_PARTITION_LOST', `${tp.topic}[${tp.partition}] left this member; its next owner processes its records`)
}
