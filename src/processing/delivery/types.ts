/**
 * How a route's finished work becomes durable: the one thing that differs between delivery modes.
 * The processor decides *what* is done (the offset trackers) and *when* to make it durable (as work
 * completes, on an interval, on revoke and stop); a `Delivery` decides *how*:
 *
 * - `at-least-once`: commit the offsets to the group (`./at-least-once.ts`);
 * - `transactional`: the outputs handlers produced and the offsets, in one Kafka transaction;
 * - `store`: the effects and the offsets in one transaction on the application's database.
 *
 * One delivery serves every route that chose its mode; the processor calls it with the offsets of
 * those routes' partitions only.
 */
import type { AssignedPartition, OffsetToCommit, ProducedRecord, TopicPartition } from '../consumer-port.js'

export type DeliveryMode = 'at-least-once' | 'transactional' | 'store'

/** Why a commit is made: a handler finished, the interval came round, a revocation, the stop, or a seek's new position. */
export type CommitReason = 'completion' | 'interval' | 'rebalance' | 'shutdown' | 'seek'

export interface Delivery {
  readonly mode: DeliveryMode
  /**
   * Makes `offsets` (the next offset to process of each partition, done work below it) durable.
   * Rejects with `StaleGenerationError` when the member's generation ended, in which case nothing
   * was stored; with `CommitMetadataTooLargeError` when the broker refused the metadata (the
   * processor commits again with less).
   */
  commit(offsets: readonly OffsetToCommit[], reason: CommitReason): Promise<void>
  /**
   * Partitions of this delivery's routes were assigned, before their workers start. Returns them
   * with `committed` set to where processing must start, which a delivery that keeps its own
   * offsets (store mode) may move past the group's committed offset; the records in between are
   * then skipped as done. Default: as the group committed them.
   */
  assigned?(partitions: readonly AssignedPartition[]): Promise<readonly AssignedPartition[]>
  /**
   * Partitions of this delivery's routes left this member after their hand-off's commit (revoked,
   * or the app stopping): let go of what is still held for them.
   */
  released?(partitions: readonly TopicPartition[]): Promise<void>
  /** Partitions of this delivery's routes were lost: abandon what is open for them. */
  lost?(partitions: readonly TopicPartition[]): Promise<void>
  /** The app stopped; called once, after the last commit. */
  close?(): Promise<void>
  /**
   * Set by a delivery that writes handlers' outputs itself (transactional): `ctx.produce` then
   * holds a record's outputs, dropped when an attempt fails, and hands them here once it is done.
   * Returns false when the delivery holds enough: the processor then starts no more records of
   * the partition until its next commit has gone through.
   */
  hold?(tp: TopicPartition, offsets: readonly bigint[], outputs: readonly ProducedRecord[]): boolean
  /** Resolves when a commit made as work completes should go (a delivery that batches its commits). */
  batchWindow?(): Promise<void>
}
