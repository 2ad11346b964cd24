/**
 * Watches the group from the outside while a strategy runs: which live member owns which
 * partition, and when a membership change has been absorbed. A change is absorbed (its rebalance
 * is over) when every live member is stable and every partition is owned by a live member; the
 * time from the change to that moment is what the table reports as the rebalance's duration.
 * A cooperative rebalance (two generations, KIP-429) counts as one change, as a user sees it.
 */
import type { MembershipState as MemberState } from '../client/index.js'
import type { EffectSink } from './effects.js'
import type { LabConsumer, OwnershipListener } from './members/lab-consumer.js'
import type { ObservationRecorder, RebalanceSpan } from './observation.js'

interface Watched {
  readonly consumer: LabConsumer
  state: MemberState
  readonly unsubscribe: () => void
}

export class GroupWatch {
  private readonly owners = new Map<number, string>()
  private readonly live = new Map<string, Watched>()
  private readonly generations = new Set<number>()
  private pending: { cause: RebalanceSpan['cause']; startMs: number }[] = []
  private readonly listeners = new Set<() => void>()

  readonly ownership: OwnershipListener = {
    assigned: (consumerId, partitions) => {
      this.recorder.assigned(consumerId, partitions)
      this.sink.assigned(consumerId, partitions)
      for (const p of partitions) this.owners.set(p, consumerId)
      this.check()
    },
    released: (consumerId, partitions) => {
      this.recorder.released(consumerId, partitions)
      for (const p of partitions) if (this.owners.get(p) === consumerId) this.owners.delete(p)
      this.check()
    },
  }

  constructor(
    private readonly recorder: ObservationRecorder,
    private readonly sink: EffectSink,
    private readonly partitions: number,
  ) {}

  /** Group generations seen by members when they became stable: actual rebalances, as the coordinator counts them. */
  get generationCount(): number {
    return this.generations.size
  }

  get rebalancing(): boolean {
    return this.pending.length > 0
  }

  get memberCount(): number {
    return this.live.size
  }

  add(consumer: LabConsumer): void {
    const watched: Watched = {
      consumer,
      state: consumer.state,
      unsubscribe: consumer.onStateChange((to) => {
        watched.state = to
        if (to === 'stable') this.generations.add(consumer.generationId)
        this.check()
      }),
    }
    this.live.set(consumer.consumerId, watched)
  }

  /** The member left or crashed: it no longer counts as an owner. */
  remove(consumerId: string): void {
    this.live.get(consumerId)?.unsubscribe()
    this.live.delete(consumerId)
    for (const [p, owner] of this.owners) if (owner === consumerId) this.owners.delete(p)
    this.check()
  }

  /** A membership change happened now; its rebalance is timed until the group has absorbed it. */
  begin(cause: RebalanceSpan['cause']): void {
    this.pending.push({ cause, startMs: this.recorder.now() })
    this.check()
  }

  /** The live member owning the most partitions (lowest id on ties): the one a leave or crash takes away. */
  busiestMember(): string | undefined {
    const counts = new Map<string, number>([...this.live.keys()].map((id) => [id, 0]))
    for (const owner of this.owners.values()) if (counts.has(owner)) counts.set(owner, (counts.get(owner) ?? 0) + 1)
    return [...counts].sort((a, b) => b[1] - a[1] || memberNumber(a[0]) - memberNumber(b[0]))[0]?.[0]
  }

  owned(consumerId: string): number[] {
    return [...this.owners].filter(([, owner]) => owner === consumerId).map(([p]) => p)
  }

  /** Calls `listener` whenever ownership or a member's state changes. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private get settled(): boolean {
    if (this.live.size === 0) return false
    for (const watched of this.live.values()) if (watched.state !== 'stable') return false
    for (let p = 0; p < this.partitions; p++) {
      const owner = this.owners.get(p)
      if (owner === undefined || !this.live.has(owner)) return false
    }
    return true
  }

  private check(): void {
    if (this.pending.length > 0 && this.settled) {
      for (const change of this.pending) this.recorder.rebalance(change.cause, change.startMs)
      this.pending = []
    }
    for (const listener of this.listeners) listener()
  }
}

function memberNumber(consumerId: string): number {
  return Number(/(\d+)$/.exec(consumerId)?.[1] ?? 0)
}
