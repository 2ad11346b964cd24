/**
 * Fault injection for tests: what real clusters do at their worst, on demand and deterministic.
 * Request faults are keyed by API (franz-go's kfake Control is the model): delay the responses of an
 * API, or answer the next N requests of an API with a chosen error code instead of handling them.
 * Node faults stop a node's listener or drop its connections; leadership moves bump the epoch; a
 * log truncation models an unclean leader election (KIP-320's divergence).
 * Transaction coordinator faults hold the markers of ended transactions (the coordinator answers
 * CONCURRENT_TRANSACTIONS and the LSO stays put meanwhile) or move a transactional id's
 * coordinator to another node (the old one answers NOT_COORDINATOR, as after a failover); delays
 * and errors of the transaction APIs are request faults like any other (`failNext(EndTxn, ...)`).
 */
import type { ApiSpec } from '../protocol/codec-runtime.js'
import { BrokerError } from './errors.js'

/** An API by its spec (`Produce`) or key (0). */
export type ApiSelector = ApiSpec | number

export interface RequestFaultOptions {
  /** Only requests arriving at this node; every node by default. */
  nodeId?: number
  /** How many requests the fault applies to; unlimited for delays and 1 for errors by default. */
  count?: number
}

interface RequestFault {
  readonly apiKey: number
  readonly nodeId: number | undefined
  remaining: number
  readonly delayMs: number
  readonly errorCode: number | null
}

/** The transaction coordinator's controls the broker hands to Faults. */
export interface TransactionControls {
  delayMarkers(ms: number): () => void
  moveCoordinator(transactionalId: string, nodeId: number): void
}

/** The node-level controls the broker hands to Faults. */
export interface NodeControls {
  stopAccepting(): Promise<void>
  resumeAccepting(): Promise<void>
  dropConnections(): void
}

export class Faults {
  private readonly faults: RequestFault[] = []
  private readonly nodeControls: (nodeId: number) => NodeControls
  private readonly leaderMover: (topic: string, partition: number, nodeId: number) => void
  private readonly transactions: TransactionControls | null
  private readonly logTruncator: ((topic: string, partition: number, offset: number) => void) | null
  private undoMarkerDelay: (() => void) | null = null

  constructor(
    nodeControls: (nodeId: number) => NodeControls,
    leaderMover: (topic: string, partition: number, nodeId: number) => void,
    transactions: TransactionControls | null = null,
    logTruncator: ((topic: string, partition: number, offset: number) => void) | null = null,
  ) {
    this.nodeControls = nodeControls
    this.leaderMover = leaderMover
    this.transactions = transactions
    this.logTruncator = logTruncator
  }

  /** Holds every response of `api` for `ms` before sending it. Returns a function that removes the fault. */
  delay(api: ApiSelector, ms: number, options: RequestFaultOptions = {}): () => void {
    if (!Number.isFinite(ms) || ms < 0) throw new BrokerError('BROKER_INVALID_OPTION', `delay must be a non-negative number of milliseconds, got ${ms}`)
    return this.add({ apiKey: apiKeyOf(api), nodeId: options.nodeId, remaining: options.count ?? Infinity, delayMs: ms, errorCode: null })
  }

  /** Answers the next `count` (default 1) requests of `api` with `errorCode` instead of handling them. */
  failNext(api: ApiSelector, errorCode: number, options: RequestFaultOptions = {}): () => void {
    if (!Number.isInteger(errorCode) || errorCode === 0) throw new BrokerError('BROKER_INVALID_OPTION', `errorCode must be a non-zero Kafka error code, got ${errorCode}`)
    return this.add({ apiKey: apiKeyOf(api), nodeId: options.nodeId, remaining: options.count ?? 1, delayMs: 0, errorCode })
  }

  /** Closes the node's listener: new connections are refused, open ones keep working. */
  stopAccepting(nodeId: number): Promise<void> {
    return this.nodeControls(nodeId).stopAccepting()
  }

  /** Listens again on the node's original port. */
  resumeAccepting(nodeId: number): Promise<void> {
    return this.nodeControls(nodeId).resumeAccepting()
  }

  /** Destroys every open connection of the node, as a crash or network partition would. */
  dropConnections(nodeId: number): void {
    this.nodeControls(nodeId).dropConnections()
  }

  /** Makes `nodeId` the leader of the partition and bumps its leader epoch; the old leader answers NOT_LEADER_OR_FOLLOWER. */
  moveLeader(topic: string, partition: number, nodeId: number): void {
    this.leaderMover(topic, partition, nodeId)
  }

  /**
   * Cuts the partition's log at the batch holding `offset` and starts a new leader epoch there, as
   * when a replica that lacked the tail becomes leader (an unclean election). Clients that read past
   * the cut see their history diverge (KIP-320). In-memory brokers only.
   */
  truncateLog(topic: string, partition: number, offset: number): void {
    if (this.logTruncator === null) throw new BrokerError('BROKER_INVALID_OPTION', 'this broker was built without log truncation')
    this.logTruncator(topic, partition, offset)
  }

  /**
   * Holds the COMMIT/ABORT markers of every transaction ended from now on for `ms`: EndTxn is
   * answered once the decision is stored, as in Kafka, and the transaction stays PrepareCommit or
   * PrepareAbort until the markers are written. A broker stopped meanwhile finishes it on restart.
   * Returns a function that ends the delay for transactions ended after it.
   */
  delayTransactionMarkers(ms: number): () => void {
    if (!Number.isFinite(ms) || ms < 0) throw new BrokerError('BROKER_INVALID_OPTION', `delay must be a non-negative number of milliseconds, got ${ms}`)
    const undo = this.transactionControls().delayMarkers(ms)
    this.undoMarkerDelay = undo
    return undo
  }

  /** Moves the coordinator of `transactionalId` to `nodeId`: its old node answers NOT_COORDINATOR (a lost coordinator). */
  moveTransactionCoordinator(transactionalId: string, nodeId: number): void {
    this.transactionControls().moveCoordinator(transactionalId, nodeId)
  }

  /** Removes every request fault and the marker delay. */
  clear(): void {
    this.faults.length = 0
    this.undoMarkerDelay?.()
    this.undoMarkerDelay = null
  }

  private transactionControls(): TransactionControls {
    if (this.transactions === null) throw new BrokerError('BROKER_INVALID_OPTION', 'this broker was built without a transaction coordinator')
    return this.transactions
  }

  /** For the request pipeline: what to do with a request of `apiKey` arriving at `nodeId`. */
  take(apiKey: number, nodeId: number): { delayMs: number; errorCode: number | null } {
    let delayMs = 0
    let errorCode: number | null = null
    for (const fault of this.faults) {
      if (fault.apiKey !== apiKey || (fault.nodeId !== undefined && fault.nodeId !== nodeId) || fault.remaining <= 0) continue
      if (fault.errorCode !== null) {
        if (errorCode !== null) continue
        errorCode = fault.errorCode
      } else {
        delayMs = Math.max(delayMs, fault.delayMs)
      }
      fault.remaining--
    }
    for (let i = this.faults.length - 1; i >= 0; i--) if (this.faults[i]!.remaining <= 0) this.faults.splice(i, 1)
    return { delayMs, errorCode }
  }

  private add(fault: RequestFault): () => void {
    this.faults.push(fault)
    return () => {
      const at = this.faults.indexOf(fault)
      if (at >= 0) this.faults.splice(at, 1)
    }
  }
}

function apiKeyOf(api: ApiSelector): number {
  return typeof api === 'number' ? api : api.apiKey
}
