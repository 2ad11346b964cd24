/**
 * One chaos member: a process running the framework, `baton({...})`, exactly as an application
 * would, with a handler that records its effect. The parent starts it with its settings as JSON in
 * argv[2], and stops it with SIGTERM (the framework's graceful stop) or SIGKILL (a crash).
 *
 * Everything it does that the accounting needs goes to its event file (see events.ts): effects,
 * assignments, revocations (with whether their commit failed), losses and its exit.
 */
import diagnostics from 'node:diagnostics_channel'
import { setTimeout as sleep } from 'node:timers/promises'
import { pino } from 'pino'
import { baton, CHANNELS, type AssignedEvent, type LostEvent, type RevokedEvent } from '../../processing/index.js'
import { handlerTimeMs, type ChaosMode } from './config.js'
import { EventWriter } from './events.js'

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

const app = baton({
  groupId: settings.groupId,
  brokers: settings.brokers,
  // BATON_CHAOS_LOG_LEVEL=debug shows each commit and rebalance step when a run needs explaining.
  logger: pino({ level: process.env.BATON_CHAOS_LOG_LEVEL ?? 'info', base: { member: settings.name } }, pino.destination(2)),
  rebalanceTimeoutMs: 20_000,
  drainTimeoutMs: 5_000,
  commitIntervalMs: 1_000,
  kafka: { clientId: settings.name, sessionTimeoutMs: settings.sessionTimeoutMs, heartbeatIntervalMs: settings.heartbeatIntervalMs },
})

app.consume(
  settings.topic,
  async (record, ctx) => {
    const id = Number(record.value?.toString('latin1'))
    if (!Number.isSafeInteger(id)) return
    const ms = handlerTimeMs(settings.seed, id, settings.handlerMaxMs)
    if (ms > 0) await sleep(ms, undefined, { signal: ctx.signal })
    // The effect: written once the work is complete, never for aborted work.
    events.write({ e: 'effect', t: Date.now(), id, p: record.partition, o: Number(record.offset) })
  },
  { ordering: settings.mode, deadLetter: false, retries: false },
)

const result = await app.run()
events.write({ e: 'exit', t: Date.now(), code: result.exitCode, reason: result.reason })
events.close()
process.exit(result.exitCode)
