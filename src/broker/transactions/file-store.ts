/**
 * The transaction coordinator's durable state: one append-only file, `transactions.log`, playing
 * the part of Kafka's __transaction_state, framed and replayed by `log/framed-log.ts` as the group
 * store's file is. Opening keeps the latest state per transactional id and rewrites the file in
 * that compacted form.
 */
import { FramedLog } from '../log/framed-log.js'
import type { BrokerLogger } from '../options.js'
import type { StoredTransaction, TransactionStore } from './store.js'

const FILE = 'transactions.log'

export class FileTransactionStore implements TransactionStore {
  readonly persistent = true
  private readonly log: FramedLog<StoredTransaction>

  constructor(dir: string, logger: BrokerLogger, options: { fsync?: boolean } = {}) {
    this.log = new FramedLog<StoredTransaction>({ dir, file: FILE, holds: 'transaction state', owner: 'transaction store', logger, fsync: options.fsync })
  }

  load(): StoredTransaction[] {
    const latest = new Map<string, StoredTransaction>()
    for (const t of this.log.replay()) latest.set(t.transactionalId, t)
    const loaded = [...latest.values()]
    this.log.rewrite(loaded)
    return loaded
  }

  save(transaction: StoredTransaction): void {
    this.log.append(transaction)
  }

  close(): void {
    this.log.close()
  }
}
