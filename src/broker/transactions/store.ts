/**
 * What the transaction coordinator persists, and the in-memory store used without a data
 * directory. Like Kafka's __transaction_state, the durable form keeps the latest state per
 * transactional id; pending transactional offset commits travel inside it, so a transaction that
 * was committing when the process died can finish after a restart.
 */
import type { TransactionState } from './state.js'

export interface StoredPendingOffset {
  readonly groupId: string
  readonly topic: string
  readonly partition: number
  /** int64 as a decimal string (JSON has no bigint). */
  readonly offset: string
  readonly leaderEpoch: number
  readonly metadata: string | null
}

export interface StoredTransaction {
  readonly transactionalId: string
  readonly producerId: string
  readonly previousProducerId: string
  readonly producerEpoch: number
  readonly lastProducerEpoch: number
  readonly timeoutMs: number
  readonly state: TransactionState
  readonly partitions: readonly (readonly [string, number])[]
  readonly groups: readonly string[]
  readonly pendingOffsets: readonly StoredPendingOffset[]
  readonly startTimestamp: number
  readonly lastUpdateTimestamp: number
}

export interface TransactionStore {
  readonly persistent: boolean
  load(): StoredTransaction[]
  save(transaction: StoredTransaction): void
  close(): void
}

export class MemoryTransactionStore implements TransactionStore {
  readonly persistent = false
  load(): StoredTransaction[] {
    return []
  }
  save(): void {}
  close(): void {}
}
