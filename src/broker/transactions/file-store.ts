/**
 * The transaction coordinator's durable state: one append-only file, `transactions.log`, playing
 * the part of Kafka's __transaction_state. Records are framed as the group store frames its own
 *
 *   uint32 length | uint32 CRC-32C of the payload | payload (UTF-8 JSON)
 *
 * so a record torn by a crash is detected and cut on the next start. Opening replays the file,
 * keeps the latest state per transactional id and rewrites the file in that compacted form.
 * Writes are synchronous: a state the coordinator answered a client from is in the operating
 * system's hands first (and on the device with the broker's fsync option).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c } from '../../protocol/records/index.js'
import { BrokerError } from '../errors.js'
import type { BrokerLogger } from '../options.js'
import type { StoredTransaction, TransactionStore } from './store.js'

const FILE = 'transactions.log'
const HEADER_BYTES = 8

function frame(transaction: StoredTransaction): Buffer {
  const payload = Buffer.from(JSON.stringify(transaction))
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.writeUInt32BE(crc32c(payload), 4)
  payload.copy(out, HEADER_BYTES)
  return out
}

export class FileTransactionStore implements TransactionStore {
  readonly persistent = true
  private readonly path: string
  private readonly logger: BrokerLogger
  private readonly fsync: boolean
  private fd = -1

  constructor(dir: string, logger: BrokerLogger, options: { fsync?: boolean } = {}) {
    this.path = join(dir, FILE)
    this.logger = logger
    this.fsync = options.fsync ?? false
    try {
      mkdirSync(dir, { recursive: true })
    } catch (error) {
      throw new BrokerError('BROKER_STORAGE', `cannot create ${dir} for transaction state; check the data directory's permissions`, { cause: error })
    }
  }

  load(): StoredTransaction[] {
    const latest = new Map<string, StoredTransaction>()
    for (const t of this.replay()) latest.set(t.transactionalId, t)
    const loaded = [...latest.values()]
    writeFileSync(`${this.path}.tmp`, Buffer.concat(loaded.map(frame)))
    renameSync(`${this.path}.tmp`, this.path)
    this.fd = openSync(this.path, 'a')
    return loaded
  }

  save(transaction: StoredTransaction): void {
    if (this.fd < 0) throw new BrokerError('BROKER_STOPPED', 'the transaction store is closed; the broker is stopping')
    const bytes = frame(transaction)
    let written = 0
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written)
    if (this.fsync) fsyncSync(this.fd)
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
  }

  /** Every intact record, in order; stops at the first torn or corrupt one. */
  private replay(): StoredTransaction[] {
    if (!existsSync(this.path)) return []
    const bytes = readFileSync(this.path)
    const records: StoredTransaction[] = []
    let position = 0
    while (position < bytes.length) {
      const record = this.recordAt(bytes, position)
      if (typeof record === 'string') {
        this.logger.warn({ file: this.path, keptBytes: position, droppedBytes: bytes.length - position, reason: record }, 'transaction state ends in a torn or corrupt record; dropping it')
        break
      }
      records.push(record.value)
      position = record.end
    }
    return records
  }

  /** The record at `position`, or why it cannot be read. */
  private recordAt(bytes: Buffer, position: number): { value: StoredTransaction; end: number } | string {
    if (bytes.length - position < HEADER_BYTES) return 'truncated record header'
    const length = bytes.readUInt32BE(position)
    const end = position + HEADER_BYTES + length
    if (end > bytes.length) return 'truncated record'
    if (crc32c(bytes, position + HEADER_BYTES, end) !== bytes.readUInt32BE(position + 4)) return 'CRC mismatch'
    try {
      return { value: JSON.parse(bytes.subarray(position + HEADER_BYTES, end).toString('utf8')) as StoredTransaction, end }
    } catch {
      return 'unparseable record'
    }
  }
}
