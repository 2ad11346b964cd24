/**
 * Where `baton groups reset-offsets` would move each partition, as kafka-consumer-groups.sh
 * --reset-offsets computes it: to the earliest or latest offset, the first offset at or after a
 * time, an absolute offset, or a shift from the committed one; every target is kept within the
 * partition's [earliest, latest] range.
 */
import type { Admin } from '../client/index.js'
import { CliError, EXIT } from './output.js'

export type ResetSpec = { to: 'earliest' } | { to: 'latest' } | { to: 'datetime'; timestamp: number } | { to: 'offset'; offset: bigint } | { to: 'shift'; by: bigint }

export interface ResetRow {
  topic: string
  partition: number
  currentOffset: bigint | null
  newOffset: bigint
}

/** `orders` (all partitions) or `orders:0,2`. */
export function parseTopicSelector(value: string): { topic: string; partitions: number[] | null } {
  const colon = value.lastIndexOf(':')
  if (colon < 0) return { topic: value, partitions: null }
  const partitions = value
    .slice(colon + 1)
    .split(',')
    .map((p) => Number(p))
  if (partitions.some((p) => !Number.isInteger(p) || p < 0)) throw new CliError(EXIT.USAGE, `--topic ${value}: partitions must be integers, as in orders:0,1`)
  return { topic: value.slice(0, colon), partitions }
}

export async function planReset(admin: Admin, groupId: string, topics: Array<{ topic: string; partitions: number[] | null }>, spec: ResetSpec): Promise<ResetRow[]> {
  const committed = await admin.fetchOffsets(groupId)
  const rows: ResetRow[] = []
  for (const selector of topics) {
    const [earliest, latest, atTime] = await Promise.all([
      admin.listOffsets(selector.topic, 'earliest'),
      admin.listOffsets(selector.topic, 'latest'),
      spec.to === 'datetime' ? admin.listOffsets(selector.topic, { timestamp: spec.timestamp }) : Promise.resolve([]),
    ])
    const partitions = selector.partitions ?? earliest.map((o) => o.partition)
    for (const partition of partitions) {
      const low = earliest.find((o) => o.partition === partition)?.offset
      const high = latest.find((o) => o.partition === partition)?.offset
      if (low === undefined || high === undefined) throw new CliError(EXIT.NOT_FOUND, `topic ${selector.topic} has no partition ${partition}`)
      const current = committed.find((c) => c.topic === selector.topic && c.partition === partition && c.offset >= 0n)?.offset ?? null
      let target: bigint
      switch (spec.to) {
        case 'earliest':
          target = low
          break
        case 'latest':
          target = high
          break
        case 'offset':
          target = spec.offset
          break
        case 'shift':
          target = (current ?? low) + spec.by
          break
        case 'datetime': {
          const found = atTime.find((o) => o.partition === partition)?.offset ?? -1n
          // No record at or after the time: the end, as Kafka's tool does.
          target = found < 0n ? high : found
          break
        }
      }
      rows.push({ topic: selector.topic, partition, currentOffset: current, newOffset: target < low ? low : target > high ? high : target })
    }
  }
  return rows
}

/** Milliseconds since the epoch from an ISO date-time (`2026-12-07T10:00:00Z`, local time without a zone) or a number. */
export function parseDateTime(value: string): number {
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value)
  if (!Number.isFinite(ms)) throw new CliError(EXIT.USAGE, `--to-datetime ${value}: use an ISO date-time such as 2026-12-07T10:00:00Z, or milliseconds since the epoch`)
  return ms
}
