/**
 * What the console shows, gathered from the admin API only (so it works for any group, whoever
 * wrote its consumers): every consumer group, polled on an interval, with its members, assignment
 * and lag, and kept over time:
 *
 * - lag per partition, one sample per poll;
 * - records per second in (growth of the end offsets of the group's partitions) and out (growth of
 *   its committed offsets), between consecutive polls;
 * - a timeline of rebalances: a new entry whenever the group's epoch (KIP-848) changes, or, for
 *   classic groups whose DescribeGroups carries no generation, whenever the members or their
 *   assignment change; each entry says who owned which partition from then on.
 *
 * Classic generations are therefore counted as the console observes them ("rebalance #n"), not
 * read from the coordinator: two rebalances between polls show as one.
 */
import { describeGroupLag, type Admin, type ConsumerGroupView } from '../client/index.js'

export interface LagSample {
  at: number
  /** Lag by `topic-partition`; null where the group has no committed offset. */
  lag: Record<string, number | null>
  totalLag: number
  recordsInPerSec: number | null
  recordsOutPerSec: number | null
}

export interface RebalanceEvent {
  at: number
  /** KIP-848 group epoch, or the console's own count of classic rebalances (from 1). */
  generation: number
  observed: boolean
  state: string
  members: Array<{ memberId: string; clientId: string; clientHost: string }>
  /** `topic-partition` → member id, from this rebalance on. */
  ownership: Record<string, string>
}

export interface GroupHistory {
  groupId: string
  current: ConsumerGroupView
  samples: LagSample[]
  rebalances: RebalanceEvent[]
}

export interface ConsoleSnapshot {
  at: number
  bootstrap: string[]
  groups: GroupHistory[]
  /** The last poll's failure, shown on the page; null when it worked. */
  error: string | null
}

const MAX_SAMPLES = 600
const MAX_REBALANCES = 100

/** A label for people, as Kafka's tools print a partition (`orders-0`); the page builds the same. */
const partitionLabel = (topic: string, partition: number): string => `${topic}-${partition}`

function ownershipOf(view: ConsumerGroupView): Record<string, string> {
  const owners: Record<string, string> = {}
  for (const m of view.members) for (const tp of m.assignment) owners[partitionLabel(tp.topic, tp.partition)] = m.memberId
  return owners
}

function signature(view: ConsumerGroupView): string {
  return JSON.stringify([view.members.map((m) => m.memberId).sort(), Object.entries(ownershipOf(view)).sort()])
}

export class GroupMonitor {
  private readonly histories = new Map<string, GroupHistory & { signature: string; endSum: bigint; committedSum: bigint }>()
  private lastPollAt = 0
  private error: string | null = null

  constructor(
    private readonly admin: Admin,
    private readonly bootstrap: string[],
  ) {}

  /** One round: lists the groups, describes each with its lag, and updates their histories. */
  async poll(now = Date.now()): Promise<void> {
    try {
      const listed = await this.admin.listGroups()
      const seen = new Set<string>()
      for (const listing of listed) {
        if (listing.protocolType !== 'consumer' && listing.protocolType !== '' && listing.type !== 'consumer') continue
        seen.add(listing.groupId)
        const view = await describeGroupLag(this.admin, listing.groupId)
        this.record(view, now)
      }
      for (const id of this.histories.keys()) if (!seen.has(id)) this.histories.delete(id)
      this.error = null
    } catch (error) {
      this.error = error instanceof Error ? error.message : String(error)
    }
    this.lastPollAt = now
  }

  snapshot(): ConsoleSnapshot {
    return {
      at: this.lastPollAt,
      bootstrap: this.bootstrap,
      error: this.error,
      groups: [...this.histories.values()]
        .map(({ groupId, current, samples, rebalances }) => ({ groupId, current, samples, rebalances }))
        .sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0)),
    }
  }

  private record(view: ConsumerGroupView, now: number): void {
    let endSum = 0n
    let committedSum = 0n
    for (const p of view.partitions) {
      if (p.endOffset > 0n) endSum += p.endOffset
      if (p.committedOffset !== null) committedSum += p.committedOffset
    }
    const lag: Record<string, number | null> = {}
    for (const p of view.partitions) lag[partitionLabel(p.topic, p.partition)] = p.lag === null ? null : Number(p.lag)
    const sig = signature(view)
    const previous = this.histories.get(view.groupId)
    if (previous === undefined) {
      const history = {
        groupId: view.groupId,
        current: view,
        samples: [{ at: now, lag, totalLag: Number(view.totalLag), recordsInPerSec: null, recordsOutPerSec: null }],
        rebalances: [this.rebalance(view, now, 1)],
        signature: sig,
        endSum,
        committedSum,
      }
      this.histories.set(view.groupId, history)
      return
    }
    const seconds = (now - (previous.samples.at(-1)?.at ?? now)) / 1000
    const rate = (delta: bigint): number | null => (seconds > 0 ? Math.max(0, Number(delta) / seconds) : null)
    previous.samples.push({ at: now, lag, totalLag: Number(view.totalLag), recordsInPerSec: rate(endSum - previous.endSum), recordsOutPerSec: rate(committedSum - previous.committedSum) })
    if (previous.samples.length > MAX_SAMPLES) previous.samples.splice(0, previous.samples.length - MAX_SAMPLES)
    const last = previous.rebalances.at(-1)
    const epochChanged = view.groupEpoch !== null && last !== undefined && last.generation !== view.groupEpoch
    // A classic group in the middle of a rebalance shows no assignment yet: wait for it to settle.
    const settled = view.state === 'Stable' || view.state === 'Empty' || view.state === 'Dead' || view.protocol === 'consumer'
    if ((sig !== previous.signature && settled) || epochChanged) {
      previous.rebalances.push(this.rebalance(view, now, (last?.generation ?? 0) + 1))
      if (previous.rebalances.length > MAX_REBALANCES) previous.rebalances.splice(0, previous.rebalances.length - MAX_REBALANCES)
    } else if (last !== undefined && settled) {
      last.state = view.state
    }
    Object.assign(previous, { current: view, endSum, committedSum, ...(settled || epochChanged ? { signature: sig } : {}) })
  }

  private rebalance(view: ConsumerGroupView, now: number, counted: number): RebalanceEvent {
    return {
      at: now,
      generation: view.groupEpoch ?? counted,
      observed: view.groupEpoch === null,
      state: view.state,
      members: view.members.map((m) => ({ memberId: m.memberId, clientId: m.clientId, clientHost: m.clientHost })),
      ownership: ownershipOf(view),
    }
  }
}
