/** Errors of store mode; branch on the class or its `code`. */
import { BatonError } from '../../client/index.js'

/**
 * The database refused this member's write for a partition: another member claimed the partition
 * after this one did (a later generation), so this member is a zombie for it. The transaction,
 * the handler's effects included, was rolled back; the partition's owner redoes the records.
 */
export class StoreFencedError extends BatonError {
  readonly topic: string
  readonly partition: number
  /** For a refused claim: the claim the row holds, which a member may take over once it knows that claim's group is gone. */
  readonly heldBy: StoredClaim | undefined

  constructor(topic: string, partition: number, detail: string, heldBy?: StoredClaim) {
    super(
      'PROCESSING_STORE_FENCED',
      `store mode: the write for ${topic}[${partition}] was refused and rolled back: ${detail}. ` +
        'Another member owns the partition now and redoes these records; this member must stop processing it',
    )
    this.topic = topic
    this.partition = partition
    this.heldBy = heldBy
  }
}

/** A partition's claim as the offsets table holds it. */
export interface StoredClaim {
  readonly generation: number
  readonly token: string
  /** The next offset to process; null when nothing was stored yet. */
  readonly nextOffset: bigint | null
}

/**
 * `ctx.tx` was used in a route that is not in store mode, or after its handler returned. Only a
 * `delivery: 'store'` route's handler gets a database transaction, and only while it runs.
 */
export class StoreModeRequiredError extends BatonError {
  constructor(detail: string) {
    super(
      'PROCESSING_STORE_MODE_REQUIRED',
      `ctx.tx ${detail}. It is the record's transaction on your database in store mode: choose consume(topic, handler, { delivery: 'store' }) ` +
        "with baton({ store: { database } }), and use ctx.tx only until the handler's promise settles",
    )
  }
}

/**
 * A store-mode database transaction failed for a reason other than fencing (the connection broke,
 * the server ended the session, a commit was refused). Its effects were rolled back; the records
 * it held were already marked done in memory, so this member stores nothing more for the
 * partition and the app stops: the next owner (or this app once restarted) starts again from the
 * offset the database holds, and nothing is lost. Check the database's availability and logs.
 */
export class StoreTransactionError extends BatonError {
  readonly topic: string
  readonly partition: number

  constructor(topic: string, partition: number, options?: ErrorOptions) {
    super(
      'PROCESSING_STORE_TRANSACTION_FAILED',
      `store mode: the database transaction of ${topic}[${partition}] failed and was rolled back; the app stops so that the records since the ` +
        "partition's last stored offset are processed again from there. Check that the database is reachable and see its log for the cause",
      options,
    )
    this.topic = topic
    this.partition = partition
  }
}
