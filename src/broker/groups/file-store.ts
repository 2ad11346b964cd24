/**
 * The coordinator's durable state: one append-only file, `groups.log`, playing the part of Kafka's
 * __consumer_offsets, framed and replayed by `log/framed-log.ts`. Opening keeps the latest value
 * per key (as log compaction would) and rewrites the file in that compacted form, so it does not
 * grow across restarts with superseded commits.
 */
import { FramedLog } from '../log/framed-log.js'
import type { BrokerLogger } from '../options.js'
import type { StoredConsumerGroup } from './consumer/persist.js'
import type { GroupStore, LoadedGroups, StoredGroup, StoredOffset } from './store.js'

const FILE = 'groups.log'

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

function toJson(group: StoredGroup): JsonGroup {
  return { ...group, members: group.members.map((m) => ({ ...m, metadata: m.metadata.toString('base64'), assignment: m.assignment.toString('base64') })) }
}

function fromJson(group: JsonGroup): StoredGroup {
  return { ...group, members: group.members.map((m) => ({ ...m, metadata: Buffer.from(m.metadata, 'base64'), assignment: Buffer.from(m.assignment, 'base64') })) }
}

const offsetKey = (g: string, t: string, p: number): string => JSON.stringify([g, t, p])

function offsetEntry(o: StoredOffset): Entry {
  return { k: 'offset', g: o.groupId, t: o.topic, p: o.partition, o: o.offset.toString(), e: o.leaderEpoch, m: o.metadata, ts: o.commitTimestamp }
}

export class FileGroupStore implements GroupStore {
  readonly persistent = true
  private readonly log: FramedLog<Entry>

  /** With `fsync`, every record is flushed to the device before the request is answered (the broker's fsync option). */
  constructor(dir: string, logger: BrokerLogger, options: { fsync?: boolean } = {}) {
    this.log = new FramedLog<Entry>({ dir, file: FILE, holds: 'consumer group state', owner: 'group store', logger, fsync: options.fsync })
  }

  load(): LoadedGroups {
    const groups = new Map<string, StoredGroup>()
    const offsets = new Map<string, StoredOffset>()
    const consumerGroups = new Map<string, StoredConsumerGroup>()
    for (const entry of this.log.replay()) {
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
    this.log.rewrite(compacted(loaded))
    return loaded
  }

  saveGroup(group: StoredGroup): void {
    this.log.append({ k: 'group', v: toJson(group) })
  }

  saveConsumerGroup(group: StoredConsumerGroup): void {
    this.log.append({ k: 'consumer-group', v: group })
  }

  deleteConsumerGroup(groupId: string): void {
    this.log.append({ k: 'consumer-group-delete', g: groupId })
  }

  saveOffset(o: StoredOffset): void {
    this.log.append(offsetEntry(o))
  }

  deleteOffset(groupId: string, topic: string, partition: number): void {
    this.log.append({ k: 'offset-delete', g: groupId, t: topic, p: partition })
  }

  deleteGroup(groupId: string): void {
    this.log.append({ k: 'group-delete', g: groupId })
  }

  close(): void {
    this.log.close()
  }
}

/** The records that rebuild `loaded`, and nothing superseded. */
function compacted(loaded: LoadedGroups): Entry[] {
  return [
    ...loaded.groups.map((group): Entry => ({ k: 'group', v: toJson(group) })),
    ...(loaded.consumerGroups ?? []).map((group): Entry => ({ k: 'consumer-group', v: group })),
    ...loaded.offsets.map(offsetEntry),
  ]
}
