/**
 * Where the exactly-once modes' effects are durable, read as a user of them would: the output
 * topic with a read_committed consumer (transactional), the rows table in PostgreSQL (store). The
 * accounting counts these outcomes, not the members' effect lines: a member may run a record's
 * handler twice (a SIGKILL before its transaction committed), but an outcome seen twice is the
 * guarantee broken.
 *
 * Each outcome carries the member and the time of the handler run that made it, so a duplicate is
 * reported with what happened to that member in between, as in at-least-once.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { Admin, Consumer } from '../../client/index.js'
import { LabError } from '../errors.js'
import { openLabDatabase, type LabDatabase } from '../members/lab-database.js'

/** One durable effect of a handler run: record `id` (at `partition`/`offset`), by `member` at `t`. */
export interface Outcome {
  readonly id: number
  readonly member: string
  readonly t: number
  readonly partition: number
  readonly offset: number
}

/** Store mode's tables in the run's PostgreSQL database: the handlers' rows, and baton's offsets table. */
export interface OutcomeTables {
  readonly rows: string
  readonly offsets: string
}

export interface OutcomeSource {
  /** Where the outcomes are read from, for the report. */
  readonly description: string
  /** Every outcome seen so far. */
  outcomes(): Promise<readonly Outcome[]>
  /** Waits until everything committed by now has been read (after the members stopped). */
  settle(timeoutMs: number): Promise<void>
  close(): Promise<void>
}

/** An output record's value: the outcome itself. */
export function outputValue(outcome: Outcome): string {
  return JSON.stringify(outcome)
}

function decodeOutput(value: Buffer | null): Outcome | undefined {
  if (value === null) return undefined
  try {
    const o = JSON.parse(value.toString('utf8')) as Partial<Outcome>
    const numbers = [o.id, o.t, o.partition, o.offset].every((n) => typeof n === 'number')
    return numbers && typeof o.member === 'string' ? (o as Outcome) : undefined
  } catch {
    return undefined
  }
}

/** Creates the output topic, with as many partitions as the input: an output goes to its input's partition. */
export async function createOutputTopic(bootstrap: readonly string[], topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap, clientId: 'chaos-admin' })
  try {
    await admin.createTopics([{ name: topic, partitions, replicationFactor: 1 }])
  } finally {
    await admin.close()
  }
}

/** The output topic from its start, read_committed: what a downstream consumer sees. */
export class OutputTopicOutcomes implements OutcomeSource {
  private readonly consumer: Consumer
  private readonly seen: Outcome[] = []
  private loop: Promise<void> = Promise.resolve()
  private failure: Error | undefined

  private constructor(
    readonly topic: string,
    private readonly partitions: number,
    bootstrap: readonly string[],
  ) {
    this.consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'chaos-output-reader', isolationLevel: 'read_committed', autoOffsetReset: 'earliest', fetchMaxWaitMs: 100 })
  }

  get description(): string {
    return `output topic ${this.topic}, read_committed`
  }

  static async start(bootstrap: readonly string[], topic: string, partitions: number): Promise<OutputTopicOutcomes> {
    const reader = new OutputTopicOutcomes(topic, partitions, bootstrap)
    await reader.consumer.connect()
    await reader.consumer.assign(reader.all().map((tp) => ({ ...tp, offset: 'earliest' as const })))
    reader.loop = reader.read()
    return reader
  }

  outcomes(): Promise<readonly Outcome[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure)
    return Promise.resolve(this.seen)
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.failure !== undefined) throw this.failure
      // Under read_committed, 'latest' is the last stable offset: nothing committed lies beyond it.
      const ends = await this.consumer.offsetsFor(this.all(), 'latest')
      if (ends.every((end) => (this.consumer.position(end) ?? -1n) >= end.offset)) return
      if (Date.now() > deadline) {
        const behind = ends.filter((end) => (this.consumer.position(end) ?? -1n) < end.offset).map((end) => `${end.partition}: at ${this.consumer.position(end)} of ${end.offset}`)
        throw new LabError(`the output topic ${this.topic} was not read to its end within ${timeoutMs / 1000} s (partitions ${behind.join(', ')})`)
      }
      await sleep(100)
    }
  }

  async close(): Promise<void> {
    await this.consumer.close()
    await this.loop
  }

  private all(): { topic: string; partition: number }[] {
    return Array.from({ length: this.partitions }, (_, partition) => ({ topic: this.topic, partition }))
  }

  private async read(): Promise<void> {
    try {
      for await (const batch of this.consumer.batches()) {
        for (const record of batch.records) {
          const outcome = decodeOutput(record.value)
          if (outcome !== undefined) this.seen.push(outcome)
        }
      }
    } catch (error) {
      this.failure = error instanceof Error ? error : new LabError(`the output topic's reader failed: ${String(error)}`)
    }
  }
}

/** The committed rows of store mode's table, in the PostgreSQL database the members share. */
export class StoreRowsOutcomes implements OutcomeSource {
  private constructor(
    private readonly lab: LabDatabase,
    readonly tables: OutcomeTables,
  ) {}

  get description(): string {
    return `table ${this.tables.rows} (${this.lab.description})`
  }

  /**
   * Creates the rows table, after dropping any of the same names (a rerun of a seed against the
   * same server starts clean). baton's offsets table is the members' to create, as an application's
   * would be, on their first assignment.
   */
  static async create(url: string, tables: OutcomeTables): Promise<StoreRowsOutcomes> {
    const lab = await openLabDatabase(url, 2)
    try {
      await lab.database.query(`DROP TABLE IF EXISTS ${tables.rows}, ${tables.offsets}`)
      await lab.database.query(`CREATE TABLE ${tables.rows} (id integer NOT NULL, member text NOT NULL, t bigint NOT NULL, partition integer NOT NULL, record_offset bigint NOT NULL)`)
    } catch (error) {
      await lab.close()
      throw error
    }
    return new StoreRowsOutcomes(lab, tables)
  }

  async outcomes(): Promise<readonly Outcome[]> {
    const result = await this.lab.database.query(`SELECT id, member, t, partition, record_offset FROM ${this.tables.rows}`)
    return result.rows.map((r) => ({ id: Number(r.id), member: String(r.member), t: Number(r.t), partition: Number(r.partition), offset: Number(r.record_offset) }))
  }

  /** A row is visible once its transaction committed; the members have stopped, so nothing is on its way. */
  settle(): Promise<void> {
    return Promise.resolve()
  }

  /** Drops the run's tables (a passed run leaves nothing on the server; a failed one keeps them to look at). */
  async drop(): Promise<void> {
    await this.lab.database.query(`DROP TABLE IF EXISTS ${this.tables.rows}, ${this.tables.offsets}`)
  }

  close(): Promise<void> {
    return this.lab.close()
  }
}
