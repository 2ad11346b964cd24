/**
 * Offset lookups by timestamp for ListOffsets. The batch table narrows the search to one batch by
 * its max timestamp; that batch is then decoded to find the exact record, as Kafka's time index
 * followed by a scan does.
 */
import { recordTimestamps } from './log/batches.js'
import type { PartitionLog } from './log/partition-log.js'
import type { Segment } from './log/segment.js'

export interface OffsetAndTimestamp {
  readonly offset: number
  readonly timestamp: number
}

/** The first record at or after the log start with a timestamp >= `timestamp`, or null. */
export function offsetForTimestamp(log: PartitionLog, timestamp: number): OffsetAndTimestamp | null {
  const found: { hit: OffsetAndTimestamp | null } = { hit: null }
  log.forEachBatch((segment, index) => {
    const entry = segment.entries[index]!
    if (entry.lastOffset < log.logStartOffset || entry.maxTimestamp < timestamp) return false
    const records = recordTimestamps(segment.read(entry.position, entry.size))
    found.hit = records.find((r) => r.offset >= log.logStartOffset && r.timestamp >= timestamp) ?? null
    return found.hit !== null
  })
  return found.hit
}

/** The record with the largest timestamp (the earliest such record on ties), or null for an empty log. */
export function offsetOfMaxTimestamp(log: PartitionLog): OffsetAndTimestamp | null {
  const best: { segment: Segment | null; index: number; max: number } = { segment: null, index: 0, max: -Infinity }
  log.forEachBatch((segment, index) => {
    const entry = segment.entries[index]!
    if (entry.lastOffset < log.logStartOffset || entry.maxTimestamp <= best.max) return
    best.segment = segment
    best.index = index
    best.max = entry.maxTimestamp
  })
  if (best.segment === null) return null
  const entry = best.segment.entries[best.index]!
  const hit = recordTimestamps(best.segment.read(entry.position, entry.size)).find((r) => r.offset >= log.logStartOffset && r.timestamp === best.max)
  return hit ?? { offset: entry.lastOffset, timestamp: best.max }
}
