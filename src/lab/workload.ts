/**
 * The lab's input and the work done per record, identical for every strategy: record `id` goes to
 * partition `id % partitions` with the id as its value, and its handler runs for a time drawn from
 * the seed, so two runs with one seed give every strategy the same records and the same handler times.
 */
import { SeededRandom } from './random.js'

export interface Workload {
  readonly records: number
  readonly partitions: number
  /** The mean handler time; each record's time is drawn between half and one and a half of it. */
  readonly handlerMs: number
  readonly seed: number
}

export class WorkloadPlan {
  private readonly durations: Uint16Array

  constructor(readonly workload: Workload) {
    const random = new SeededRandom(workload.seed)
    this.durations = new Uint16Array(workload.records)
    const low = Math.max(1, Math.round(workload.handlerMs / 2))
    const high = Math.max(low, Math.round((workload.handlerMs * 3) / 2))
    for (let id = 0; id < workload.records; id++) this.durations[id] = random.integer(low, high)
  }

  partitionOf(id: number): number {
    return id % this.workload.partitions
  }

  /** How long the handler of record `id` works, in milliseconds. */
  durationOf(id: number): number {
    return this.durations[id] ?? this.workload.handlerMs
  }

  /** The record's value on the wire: its id in decimal. */
  static encode(id: number): string {
    return String(id)
  }

  /** The id in a fetched value, or undefined for a value the lab did not write. */
  static decode(value: Buffer | null): number | undefined {
    if (value === null) return undefined
    const id = Number(value.toString('latin1'))
    return Number.isSafeInteger(id) && id >= 0 ? id : undefined
  }

  /** Time to process every record once with each partition processed in order, without interruptions. */
  get idealDurationMs(): number {
    const perPartition = new Array<number>(this.workload.partitions).fill(0)
    for (let id = 0; id < this.workload.records; id++) {
      const p = this.partitionOf(id)
      perPartition[p] = (perPartition[p] ?? 0) + this.durationOf(id)
    }
    return Math.max(0, ...perPartition)
  }
}
