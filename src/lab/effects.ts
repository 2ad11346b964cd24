/**
 * The lab's effect sink: the one handler body every strategy runs. A record's effect is written
 * when its work completes, and only then; work that is aborted, or that was running in a member
 * when it crashed, has no effect (a killed process writes nothing more).
 *
 * It also keeps, per member and partition, the records the member started since it was last
 * assigned the partition, so that a crash can say how many records were in flight: started or
 * finished, but not yet covered by a commit of that member.
 */
import type { ObservationRecorder } from './observation.js'
import { WorkloadPlan } from './workload.js'

interface PartitionWork {
  /** Offsets started (running or finished) since this member was assigned the partition. */
  readonly started: Set<bigint>
}

export class EffectSink {
  private readonly work = new Map<string, Map<number, PartitionWork>>()
  private readonly crashed = new Set<string>()
  private readonly processedIds = new Set<number>()
  private readonly listeners = new Set<() => void>()
  private effects = 0

  constructor(
    private readonly recorder: ObservationRecorder,
    private readonly plan: WorkloadPlan,
  ) {}

  /** Distinct records with at least one effect. */
  get processed(): number {
    return this.processedIds.size
  }

  /** Effects beyond the first of their record, so far. */
  get extraEffects(): number {
    return this.effects - this.processedIds.size
  }

  get allProcessed(): boolean {
    return this.processedIds.size >= this.plan.workload.records
  }

  /** Calls `listener` after every effect; returns the unsubscribe function. */
  onEffect(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** A member was assigned partitions: its bookkeeping for them starts afresh. */
  assigned(consumerId: string, partitions: readonly number[]): void {
    const byPartition = this.workOf(consumerId)
    for (const p of partitions) byPartition.set(p, { started: new Set() })
  }

  /**
   * The handler: works for the record's drawn time, then writes the effect. Rejects with the
   * signal's reason if aborted first (the framework then treats the record as not done).
   */
  async handle(consumerId: string, partition: number, offset: bigint, value: Buffer | null, signal?: AbortSignal): Promise<void> {
    const id = WorkloadPlan.decode(value)
    if (id === undefined) return
    this.workOf(consumerId).get(partition)?.started.add(offset)
    await pause(this.plan.durationOf(id), signal)
    if (this.crashed.has(consumerId)) return
    this.recorder.effect(id, partition, Number(offset), consumerId)
    this.effects++
    this.processedIds.add(id)
    for (const listener of this.listeners) listener()
  }

  /**
   * The member died: from now on its work has no effect. Returns how many records it had in flight
   * on the partitions it owned: started, and at or past its last commit for that partition.
   */
  crash(consumerId: string, owned: readonly number[], committed: (partition: number) => bigint | undefined): number {
    this.crashed.add(consumerId)
    let inFlight = 0
    for (const p of owned) {
      const from = committed(p)
      for (const offset of this.workOf(consumerId).get(p)?.started ?? []) if (from === undefined || offset >= from) inFlight++
    }
    return inFlight
  }

  private workOf(consumerId: string): Map<number, PartitionWork> {
    let byPartition = this.work.get(consumerId)
    if (byPartition === undefined) this.work.set(consumerId, (byPartition = new Map<number, PartitionWork>()))
    return byPartition
  }
}

/** Waits `ms`, or rejects with the signal's reason once it aborts. */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error)
      return
    }
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason as Error)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
