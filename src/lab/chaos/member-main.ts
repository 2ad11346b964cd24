/**
 * One chaos member: a process running the framework, `baton({...})`, exactly as an application
 * would, with a handler that records its effect. The parent starts it with its settings as JSON in
 * argv[2], and stops it with SIGTERM (the framework's graceful stop) or SIGKILL (a crash).
 *
 * Everything it does that the accounting needs goes to its event file (see events.ts): effects,
 * assignments, revocations (with whether their commit failed), losses and its exit.
 *
 * In the exactly-once modes the handler's effect is durable elsewhere as well: an output record
 * through `ctx.produce` (transactional), or a row through `ctx.tx` (store). Its effect line then
 * says only that a handler run completed; whether that run's outcome counted is for the
 * accounting to read from the output topic or the rows table (outcomes.ts).
 */
import diagnostics from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { baton, CHANNELS, type AssignedEvent, type BatonOptions, type Context, type DeliveryOption, type LostEvent, type RevokedEvent } from '../../processing/index.js'
import { openLabDatabase } from '../members/lab-database.js'
import { handlerTimeMs, type ChaosMode, type DeliveryMode } from './config.js'
import { EventWriter } from './events.js'
import { outputValue, type OutcomeTables } from './outcomes.js'

export interface MemberSettings {
  readonly name: string
  readonly brokers: readonly string[]
  readonly topic: string
  readonly groupId: string
  readonly mode: ChaosMode
  readonly seed: number
  readonly handlerMaxMs: number
  readonly sessionTimeoutMs: number
  readonly heartbeatIntervalMs: number
  readonly groupProtocol: 'classic' | 'consumer'
  readonly delivery: DeliveryMode
  readonly partitions: number
  /** Transactional: where each input's output record goes (same partition as the input). */
  readonly outputTopic: string
  /** Store: the PostgreSQL server and the run's tables. */
  readonly store: { readonly url: string; readonly tables: OutcomeTables } | undefined
  readonly eventsFile: string
}

const settings = JSON.parse(process.argv[2] ?? '{}') as MemberSettings
const events = new EventWriter(settings.eventsFile)
events.write({ e: 'started', t: Date.now(), pid: process.pid })

const partitionsOf = (tps: readonly { topic: string; partition: number }[]): number[] => tps.filter((tp) => tp.topic === settings.topic).map((tp) => tp.partition)
diagnostics.subscribe(CHANNELS.assigned, (m) => events.write({ e: 'assigned', t: Date.now(), ps: partitionsOf((m as AssignedEvent).partitions) }))
diagnostics.subscribe(CHANNELS.revoked, (m) => {
  const event = m as RevokedEvent
  events.write({ e: 'revoked', t: Date.now(), ps: partitionsOf(event.partitions), commitFailed: event.commitError !== undefined })
})
diagnostics.subscribe(CHANNELS.lost, (m) => events.write({ e: 'lost', t: Date.now(), ps: partitionsOf((m as LostEvent).partitions) }))

/** Store mode's database: a pool with a connection per partition the member may hold (one transaction each), and one spare. */
const lab = settings.store === undefined ? undefined : await openLabDatabase(settings.store.url, settings.partitions + 1)
const deliveryOptions: Partial<BatonOptions> =
  settings.delivery === 'transactional'
    ? // A SIGKILLed member's open transaction blocks its partitions' next owner until the coordinator
      // aborts it: as long as a session, so a crash costs about the same in every mode.
      { transactions: { transactionTimeoutMs: settings.sessionTimeoutMs } }
    : lab !== undefined
      ? { store: { database: lab.database, table: settings.store!.tables.offsets } }
      : {}

const app = baton({
  ...deliveryOptions,
  groupId: settings.groupId,
  groupProtocol: settings.groupProtocol,
  brokers: settings.brokers,
  // BATON_CHAOS_LOG_LEVEL=debug shows each commit and rebalance step when a run needs explaining.
  logger: pino({ level: process.env.BATON_CHAOS_LOG_LEVEL ?? 'info', base: { member: settings.name } }, pino.destination(2)),
  rebalanceTimeoutMs: 20_000,
  drainTimeoutMs: 5_000,
  commitIntervalMs: 1_000,
  // Under KIP-848 the coordinator sets both timeouts (the parent starts the broker with them).
  kafka:
    settings.groupProtocol === 'consumer'
      ? { clientId: settings.name }
      : { clientId: settings.name, sessionTimeoutMs: settings.sessionTimeoutMs, heartbeatIntervalMs: settings.heartbeatIntervalMs },
})

app.consume(
  settings.topic,
  async (record, ctx) => {
    const id = Number(record.value?.toString('latin1'))
    if (!Number.isSafeInteger(id)) return
    const ms = handlerTimeMs(settings.seed, id, settings.handlerMaxMs)
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal })
    await durableEffect(ctx, id, record.partition, record.offset)
    // The effect: written once the work is complete, never for aborted work.
    events.write({ e: 'effect', t: Date.now(), id, p: record.partition, o: Number(record.offset) })
  },
  { ordering: settings.mode, deadLetter: false, retries: false, delivery: settings.delivery satisfies DeliveryOption },
)

/** The exactly-once modes' effect: an output record in the member's transaction, or a row in the record's database transaction. */
async function durableEffect(ctx: Context, id: number, partition: number, offset: bigint): Promise<void> {
  const effect = { id, member: settings.name, t: Date.now(), partition, offset: Number(offset) }
  if (settings.delivery === 'transactional') {
    await ctx.produce({ topic: settings.outputTopic, partition, key: null, value: outputValue(effect) })
  } else if (settings.delivery === 'store') {
    await ctx.tx.query(`INSERT INTO ${settings.store!.tables.rows} (id, member, t, partition, record_offset) VALUES ($1, $2, $3, $4, $5)`, [
      effect.id,
      effect.member,
      effect.t,
      effect.partition,
      effect.offset,
    ])
  }
}

const result = await app.run()
events.write({ e: 'exit', t: Date.now(), code: result.exitCode, reason: result.reason })
events.close()
await lab?.close()
process.exit(result.exitCode)
