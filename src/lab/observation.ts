/**
 * What a lab run records while a strategy runs: effects written by handlers (the ground truth for
 * duplicates and losses), who owned which partition when, rebalances and crashes. Times are
 * milliseconds since the run started.
 */

/** One handler's side effect: the lab's sink, which every strategy writes to the same way. */
export interface Effect {
  recordId: number
  partition: number
  offset: number
  consumerId: string
  atMs: number
}

export interface OwnershipSpan {
  partition: number
  consumerId: string
  fromMs: number
  /** When the partition was released or lost; null if still owned at the end. */
  toMs: number | null
}

export interface RebalanceSpan {
  /** The membership change that caused it, or `initial` for the first assignment. */
  cause: 'initial' | 'join' | 'leave' | 'crash'
  startMs: number
  endMs: number
}

export interface CrashRecord {
  consumerId: string
  atMs: number
  /** Records the crashed member had started or finished but not committed when it died. */
  inFlight: number
}

export interface Observation {
  strategy: string
  produced: number
  startMs: number
  endMs: number
  effects: Effect[]
  ownership: OwnershipSpan[]
  rebalances: RebalanceSpan[]
  crashes: CrashRecord[]
}

/** Collects effects and events during a run; strategies get one and write to it. */
export class ObservationRecorder {
  readonly effects: Effect[] = []
  readonly ownership: OwnershipSpan[] = []
  readonly rebalances: RebalanceSpan[] = []
  readonly crashes: CrashRecord[] = []
  private origin: number

  constructor(private readonly clock: () => number = () => performance.now()) {
    this.origin = clock()
  }

  /** Times count from now: the run starts once the strategy's shared resources are open. */
  restart(): void {
    this.origin = this.clock()
  }

  now(): number {
    return Math.round(this.clock() - this.origin)
  }

  effect(recordId: number, partition: number, offset: number, consumerId: string): void {
    this.effects.push({ recordId, partition, offset, consumerId, atMs: this.now() })
  }

  assigned(consumerId: string, partitions: readonly number[]): void {
    const at = this.now()
    for (const partition of partitions) this.ownership.push({ partition, consumerId, fromMs: at, toMs: null })
  }

  released(consumerId: string, partitions: readonly number[]): void {
    const at = this.now()
    for (const span of this.ownership) {
      if (span.consumerId === consumerId && span.toMs === null && partitions.includes(span.partition)) span.toMs = at
    }
  }

  rebalance(cause: RebalanceSpan['cause'], startMs: number): void {
    this.rebalances.push({ cause, startMs, endMs: this.now() })
  }

  crash(consumerId: string, inFlight: number, atMs = this.now()): void {
    this.crashes.push({ consumerId, atMs, inFlight })
  }

  finish(strategy: string, produced: number, startMs = 0): Observation {
    return {
      strategy,
      produced,
      startMs,
      endMs: this.now(),
      effects: this.effects,
      ownership: this.ownership,
      rebalances: this.rebalances,
      crashes: this.crashes,
    }
  }
}
