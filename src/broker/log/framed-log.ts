/**
 * An append-only file of JSON records, the form the coordinators keep their durable state in
 * (`groups.log` for Kafka's __consumer_offsets, `transactions.log` for __transaction_state).
 * Each record is framed as
 *
 *   uint32 length | uint32 CRC-32C of the payload | payload (UTF-8 JSON)
 *
 * so a write torn by a crash is detected on the next start and cut off, like a segment's tail.
 * Replaying yields every intact record up to the first torn or corrupt one; the owner folds them
 * into its latest state and hands that back to `rewrite`, which replaces the file (temporary file,
 * then rename) so it does not grow across restarts, and opens it for appending. Appends are
 * synchronous: a record the coordinator answered a client from is in the operating system's hands
 * before the response leaves (and on the device with `fsync`).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c } from '../../protocol/records/index.js'
import { BrokerError } from '../errors.js'
import type { BrokerLogger } from '../options.js'

const HEADER_BYTES = 8

export interface FramedLogOptions {
  /** The folder the file lives in; created when missing. */
  dir: string
  /** The file's name inside `dir`. */
  file: string
  /** What the file holds, for messages ("consumer group state"). */
  holds: string
  /** What owns it, for the error once it is closed ("group store"). */
  owner: string
  logger: BrokerLogger
  /** Flush every record to the device before `append` returns. */
  fsync?: boolean
}

/** One record, framed as it stands in the file. */
export function frameRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value))
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.writeUInt32BE(crc32c(payload), 4)
  payload.copy(out, HEADER_BYTES)
  return out
}

/** The record at `position` and where the next one starts, or why it cannot be read. */
function recordAt(bytes: Buffer, position: number): { value: unknown; end: number } | string {
  if (bytes.length - position < HEADER_BYTES) return 'truncated record header'
  const length = bytes.readUInt32BE(position)
  const end = position + HEADER_BYTES + length
  if (end > bytes.length) return 'truncated record'
  if (crc32c(bytes, position + HEADER_BYTES, end) !== bytes.readUInt32BE(position + 4)) return 'CRC mismatch'
  try {
    return { value: JSON.parse(bytes.subarray(position + HEADER_BYTES, end).toString('utf8')) as unknown, end }
  } catch {
    // A record whose CRC matches but does not parse was written by something else entirely.
    return 'unparseable record'
  }
}

export class FramedLog<T> {
  private readonly path: string
  private readonly options: FramedLogOptions
  private fd = -1

  constructor(options: FramedLogOptions) {
    this.options = options
    this.path = join(options.dir, options.file)
    try {
      mkdirSync(options.dir, { recursive: true })
    } catch (error) {
      throw new BrokerError('BROKER_STORAGE', `cannot create ${options.dir} for ${options.holds}; check the data directory's permissions`, { cause: error })
    }
  }

  /** Every intact record, in order; stops at the first torn or corrupt one and says so in the log. */
  replay(): T[] {
    if (!existsSync(this.path)) return []
    const bytes = readFileSync(this.path)
    const records: T[] = []
    let position = 0
    while (position < bytes.length) {
      const record = recordAt(bytes, position)
      if (typeof record === 'string') {
        this.options.logger.warn(
          { file: this.path, keptBytes: position, droppedBytes: bytes.length - position, reason: record },
          `${this.options.holds} ends in a torn or corrupt record; dropping it`,
        )
        break
      }
      records.push(record.value as T)
      position = record.end
    }
    return records
  }

  /** Replaces the file's contents with `records` and opens it for appending. */
  rewrite(records: readonly T[]): void {
    writeFileSync(`${this.path}.tmp`, Buffer.concat(records.map(frameRecord)))
    renameSync(`${this.path}.tmp`, this.path)
    this.fd = openSync(this.path, 'a')
  }

  append(record: T): void {
    if (this.fd < 0) throw new BrokerError('BROKER_STOPPED', `the ${this.options.owner} is closed; the broker is stopping`)
    const bytes = frameRecord(record)
    let written = 0
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written)
    if (this.options.fsync === true) fsyncSync(this.fd)
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
  }
}
