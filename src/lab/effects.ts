/**
 * The lab's effect sink: the one handler body every strategy runs. A record's effect is written
 * when its work completes, and only then; work that is aborted, or that was running in a member
 * when it crashed, has no effect (a killed process writes nothing more).
 *
 * `handle` is the work and its effect in one: what the at-least-once strategies run. An
 * exactly-once strategy runs `work` in its handler, writes the effect where it becomes visible only
 * with the commit (a transaction's output, a database row), and reads it back from there into
 * `observe`: the lab counts effects where a user would see them.
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
  private readonly startedBy = new Map<string, Map<number, PartitionWork>>()
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
    const id = await this.work(consumerId, partition, offset, value, signal)
    if (id !== undefined) this.observe(id, partition, offset, consumerId)
  }

  /**
   * The work without its effect: resolves with the record's id once done, or undefined when the
   * value is not the lab's or the member crashed meanwhile (a dead process does nothing more).
   */
  async work(consumerId: string, partition: number, offset: bigint, value: Buffer | null, signal?: AbortSignal): Promise<number | undefined> {
    const id = WorkloadPlan.decode(value)
    if (id === undefined || this.crashed.has(consumerId)) return undefined
    this.workOf(consumerId).get(partition)?.started.add(offset)
    await pause(this.plan.durationOf(id), signal)
    return this.crashed.has(consumerId) ? undefined : id
  }

  /** An effect became visible: written by `handle`, or read back where an exactly-once strategy writes it. */
  observe(recordId: number, partition: number, offset: bigint, consumerId: string): void {
    this.recorder.effect(recordId, partition, Number(offset), consumerId)
    this.effects++
    this.processedIds.add(recordId)
    for (const listener of this.listeners) listener()
  }

  /** The member died: from now on its work has no effect. */
  crash(consumerId: string): void {
    this.crashed.add(consumerId)
  }

  /**
   * How many records a crashed member had in flight on the partitions it owned: started, and at
   * or past where its progress was last made durable for that partition.
   */
  inFlight(consumerId: string, owned: readonly number[], committed: ReadonlyMap<number, bigint | undefined>): number {
    let inFlight = 0
    for (const p of owned) {
      const from = committed.get(p)
      for (const offset of this.workOf(consumerId).get(p)?.started ?? []) if (from === undefined || offset >= from) inFlight++
    }
    return inFlight
  }

  private workOf(consumerId: string): Map<number, PartitionWork> {
    let byPartition = this.startedBy.get(consumerId)
    if (byPartition === undefined) this.startedBy.set(consumerId, (byPartition = new Map<number, PartitionWork>()))
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
