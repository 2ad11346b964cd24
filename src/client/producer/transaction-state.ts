/**
 * The transactional producer's states and the only moves between them. Every change goes through
 * `TransactionStateMachine.to`, which refuses a move not listed here, so a bug that would commit
 * an aborted transaction or send outside one fails loudly instead of reaching the broker.
 *
 *   uninitialized -> initializing -> ready -> in-transaction -> committing -> ready
 *                                      ^            |     \-> aborting ----^  (or -> initializing: KIP-360 bump)
 *                                      |            v                 ^
 *                                      |     abortable-error ---------/
 *   any state -> fatal-error (fenced, refused for good) and any state -> closed.
 */
import { BatonError } from '../../protocol/errors/base.js'

export type TransactionState =
  | 'uninitialized'
  | 'initializing'
  | 'ready'
  | 'in-transaction'
  | 'committing'
  | 'aborting'
  | 'abortable-error'
  | 'fatal-error'
  | 'closed'

const MOVES: Readonly<Record<TransactionState, readonly TransactionState[]>> = {
  uninitialized: ['initializing'],
  // An InitProducerId that fails with a retriable error may be tried again from uninitialized.
  initializing: ['ready', 'uninitialized'],
  ready: ['in-transaction', 'initializing'],
  'in-transaction': ['committing', 'aborting', 'abortable-error'],
  // A commit whose records failed cannot complete: the transaction becomes abortable.
  committing: ['ready', 'abortable-error'],
  // After the abort, a bump of the epoch (KIP-360) when sequence numbers are in doubt.
  aborting: ['ready', 'initializing'],
  'abortable-error': ['aborting', 'abortable-error'],
  'fatal-error': [],
  closed: [],
}

/** A transactional method was called in a state that does not allow it (send outside a transaction, commit twice). */
export class TransactionStateError extends BatonError {
  readonly state: TransactionState

  constructor(state: TransactionState, message: string) {
    super('TRANSACTION_STATE', `${message} (the transaction is ${state})`)
    this.state = state
  }
}

export function canMove(from: TransactionState, to: TransactionState): boolean {
  if (to === 'closed') return from !== 'closed'
  if (to === 'fatal-error') return from !== 'closed' && from !== 'fatal-error'
  return MOVES[from].includes(to)
}

export class TransactionStateMachine {
  private current: TransactionState = 'uninitialized'

  get state(): TransactionState {
    return this.current
  }

  /** Moves to `next`. @throws TransactionStateError when the move is not allowed from the current state. */
  to(next: TransactionState): void {
    if (!canMove(this.current, next)) throw new TransactionStateError(this.current, `cannot move the transaction to ${next}`)
    this.current = next
  }

  /** @throws TransactionStateError naming `action` unless the state is one of `allowed`. */
  require(action: string, ...allowed: TransactionState[]): void {
    if (!allowed.includes(this.current)) throw new TransactionStateError(this.current, `cannot ${action}: ${hint(this.current, allowed)}`)
  }
}

function hint(state: TransactionState, allowed: readonly TransactionState[]): string {
  switch (state) {
    case 'uninitialized':
      return 'call initTransactions() first'
    case 'ready':
      return allowed.includes('in-transaction') ? 'no transaction is open; call beginTransaction() first' : 'call beginTransaction() first'
    case 'in-transaction':
      return 'a transaction is already open; commit or abort it first'
    case 'abortable-error':
      return 'the transaction failed and can only be aborted; call abortTransaction()'
    case 'committing':
    case 'aborting':
      return 'the transaction is completing; wait for commitTransaction()/abortTransaction() to settle'
    case 'initializing':
      return 'initTransactions() is still running; await it'
    case 'fatal-error':
      return 'the producer failed for good; close it and create a new one'
    case 'closed':
      return 'the producer was closed; create a new one'
  }
}
