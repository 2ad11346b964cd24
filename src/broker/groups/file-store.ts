/**
 * The coordinator's durable state: one append-only file, `groups.log`, playing the part of Kafka's
 * __consumer_offsets. Each record is framed as
 *
 *   uint32 length | uint32 CRC-32C of the payload | payload (UTF-8 JSON)
 *
 * so a write torn by a crash is detected on the next start and cut off, like a segment's tail.
 * Opening replays the file, keeps the latest value per key (as log compaction would) and rewrites
 * it in that compacted form (temporary file, then rename), so the file does not grow across
 * restarts with superseded commits. Writes are synchronous: an acknowledged commit is in the
 * operating system's hands before the response leaves, and survives the process dying.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { crc32c } from '../../protocol/records/index.js'
import { BrokerError } from '../errors.js'
import type { BrokerLogger } from '../options.js'
import type { StoredConsumerGroup } from './consumer/persist.js'
import type { GroupStore, LoadedGroups, StoredGroup, StoredOffset } from './store.js'

const FILE = 'groups.log'
const HEADER_BYTES = 8

type Entry =
  | { k: 'offset'; g: string; t: string; p: number; o: string; e: number; m: string | null; ts: number }
  | { k: 'offset-delete'; g: string; t: string; p: number }
  | { k: 'group'; v: JsonGroup }
  | { k: 'group-delete'; g: string }
  | { k: 'consumer-group'; v: StoredConsumerGroup }
  | { k: 'consumer-group-delete'; g: string }

interface JsonGroup extends Omit<StoredGroup, 'members'> {
  members: (Omit<StoredGroup['members'][number], 'metadata' | 'assignment'> & { metadata: string; assignment: string })[]
}

function frame(entry: Entry): Buffer {
  const payload = Buffer.from(JSON.stringify(entry))
  const out = Buffer.allocUnsafe(HEADER_BYTES + payload.length)
  out.writeUInt32BE(payload.length, 0)
  out.writeUInt32BE(crc32c(payload), 4)
  payload.copy(out, HEADER_BYTES)
  return out
}

function toJson(group: StoredGroup): JsonGroup {
  return { ...group, members: group.members.map((m) => ({ ...m, metadata: m.metadata.toString('base64'), assignment: m.assignment.toString('base64') })) }
}

function fromJson(group: JsonGroup): StoredGroup {
  return { ...group, members: group.members.map((m) => ({ ...m, metadata: Buffer.from(m.metadata, 'base64'), assignment: Buffer.from(m.assignment, 'base64') })) }
}

const offsetKey = (g: string, t: string, p: number): string => JSON.stringify([g, t, p])

export class FileGroupStore implements GroupStore {
  readonly persistent = true
  private readonly path: string
  private readonly logger: BrokerLogger
  private readonly fsync: boolean
  private fd = -1

  /** With `fsync`, every record is flushed to the device before the request is answered (the broker's fsync option). */
  constructor(dir: string, logger: BrokerLogger, options: { fsync?: boolean } = {}) {
    this.path = join(dir, FILE)
    this.logger = logger
    this.fsync = options.fsync ?? false
    try {
      mkdirSync(dir, { recursive: true })
    } catch (error) {
      throw new BrokerError('BROKER_STORAGE', `cannot create ${dir} for consumer group state; check the data directory's permissions`, { cause: error })
    }
  }

  load(): LoadedGroups {
    const groups = new Map<string, StoredGroup>()
    const offsets = new Map<string, StoredOffset>()
    const consumerGroups = new Map<string, StoredConsumerGroup>()
    for (const entry of this.replay()) {
      switch (entry.k) {
        case 'offset':
          offsets.set(offsetKey(entry.g, entry.t, entry.p), {
            groupId: entry.g,
            topic: entry.t,
            partition: entry.p,
            offset: BigInt(entry.o),
            leaderEpoch: entry.e,
            metadata: entry.m,
            commitTimestamp: entry.ts,
          })
          break
        case 'offset-delete':
          offsets.delete(offsetKey(entry.g, entry.t, entry.p))
          break
        case 'group':
          groups.set(entry.v.groupId, fromJson(entry.v))
          break
        case 'consumer-group':
          consumerGroups.set(entry.v.groupId, entry.v)
          break
        case 'consumer-group-delete':
          consumerGroups.delete(entry.g)
          break
        case 'group-delete':
          groups.delete(entry.g)
          consumerGroups.delete(entry.g)
          for (const [key, o] of offsets) if (o.groupId === entry.g) offsets.delete(key)
          break
      }
    }
    const loaded = { groups: [...groups.values()], offsets: [...offsets.values()], consumerGroups: [...consumerGroups.values()] }
    this.compact(loaded)
    this.fd = openSync(this.path, 'a')
    return loaded
  }

  saveGroup(group: StoredGroup): void {
    this.append({ k: 'group', v: toJson(group) })
  }

  saveConsumerGroup(group: StoredConsumerGroup): void {
    this.append({ k: 'consumer-group', v: group })
  }

  deleteConsumerGroup(groupId: string): void {
    this.append({ k: 'consumer-group-delete', g: groupId })
  }

  saveOffset(o: StoredOffset): void {
    this.append({ k: 'offset', g: o.groupId, t: o.topic, p: o.partition, o: o.offset.toString(), e: o.leaderEpoch, m: o.metadata, ts: o.commitTimestamp })
  }

  deleteOffset(groupId: string, topic: string, partition: number): void {
    this.append({ k: 'offset-delete', g: groupId, t: topic, p: partition })
  }

  deleteGroup(groupId: string): void {
    this.append({ k: 'group-delete', g: groupId })
  }

  close(): void {
    if (this.fd < 0) return
    closeSync(this.fd)
    this.fd = -1
  }

  private append(entry: Entry): void {
    if (this.fd < 0) throw new BrokerError('BROKER_STOPPED', 'the group store is closed; the broker is stopping')
    const bytes = frame(entry)
    let written = 0
    while (written < bytes.length) written += writeSync(this.fd, bytes, written, bytes.length - written)
    if (this.fsync) fsyncSync(this.fd)
  }

  /** Every intact record, in order; stops at the first torn or corrupt one. */
  private replay(): Entry[] {
    if (!existsSync(this.path)) return []
    const bytes = readFileSync(this.path)
    const entries: Entry[] = []
    let position = 0
    while (position < bytes.length) {
      const problem = this.problemAt(bytes, position)
      if (problem !== null) {
        this.logger.warn({ file: this.path, keptBytes: position, droppedBytes: bytes.length - position, reason: problem }, 'group state ends in a torn or corrupt record; dropping it')
        break
      }
      const length = bytes.readUInt32BE(position)
      const payload = bytes.subarray(position + HEADER_BYTES, position + HEADER_BYTES + length)
      entries.push(JSON.parse(payload.toString('utf8')) as Entry)
      position += HEADER_BYTES + length
    }
    return entries
  }

  private problemAt(bytes: Buffer, position: number): string | null {
    if (bytes.length - position < HEADER_BYTES) return 'truncated record header'
    const length = bytes.readUInt32BE(position)
    const end = position + HEADER_BYTES + length
    if (end > bytes.length) return 'truncated record'
    if (crc32c(bytes, position + HEADER_BYTES, end) !== bytes.readUInt32BE(position + 4)) return 'CRC mismatch'
    try {
      JSON.parse(bytes.subarray(position + HEADER_BYTES, end).toString('utf8'))
    } catch {
      // A record whose CRC matches but does not parse was written by something else entirely.
      return 'unparseable record'
    }
    return null
  }

  private compact(loaded: LoadedGroups): void {
    const parts: Buffer[] = []
    for (const group of loaded.groups) parts.push(frame({ k: 'group', v: toJson(group) }))
    for (const group of loaded.consumerGroups ?? []) parts.push(frame({ k: 'consumer-group', v: group }))
    for (const o of loaded.offsets) {
      parts.push(frame({ k: 'offset', g: o.groupId, t: o.topic, p: o.partition, o: o.offset.toString(), e: o.leaderEpoch, m: o.metadata, ts: o.commitTimestamp }))
    }
    writeFileSync(`${this.path}.tmp`, Buffer.concat(parts))
    renameSync(`${this.path}.tmp`, this.path)
  }
}
