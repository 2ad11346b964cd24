/**
 * The states of a transactional id, with Kafka's names (DescribeTransactions and ListTransactions
 * report them as they are):
 *   Empty          no transaction open since the last InitProducerId
 *   Ongoing        partitions or offsets were added; the timeout runs from the first
 *   PrepareCommit / PrepareAbort   EndTxn (or a fence, or the timeout) decided; markers being written
 *   CompleteCommit / CompleteAbort every marker written, offsets applied or dropped
 *   PrepareEpochFence, Dead        Kafka's, never entered here (the fence is done in one step)
 */
export type TransactionState = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort' | 'PrepareEpochFence' | 'Dead'

export const TRANSACTION_STATES: readonly TransactionState[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort', 'PrepareEpochFence', 'Dead']
