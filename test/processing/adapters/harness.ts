/**
 * Runs baton apps on baton's own client against the embedded broker: each app's consumer can crash
 * or stall, every handled record is logged with the app that handled it, and the framework's events
 * are collected per group.
 */
import diagnostics from 'node:diagnostics_channel'
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { Admin } from '../../../src/client/admin/admin.js'
import type { RecordHandler } from '../../../src/processing/handler.js'
import { baton, type BatonApp, type BatonAppOptions, type RunResult } from '../../../src/processing/app.js'
import type { ConsumeOptions } from '../../../src/processing/config.js'
import { CHANNELS, type CommittedEvent, type LostEvent, type RevokedEvent } from '../../../src/processing/instrumentation.js'
import { GroupConsumerPort } from '../../../src/processing/adapters/consumer.js'
import { silentLogger } from '../../../src/processing/logger.js'
import type { GroupConsumer } from '../../../src/client/consumer/group-consumer.js'
import { brokerPerSuite, Condition, ConsumerFaults, consumerProtocolTimings, groupTimings, REBALANCE_TIMEOUT_MS } from '../../client/group-consumer/helpers.js'

export interface RunningApp {
  readonly name: string
  readonly app: BatonApp
  readonly consumer: GroupConsumer
  /** Crashes or stalls the app's consumer. */
  readonly faults: ConsumerFaults
  result: RunResult | undefined
}

export type Handled = Map<string, string[]>

/** Apps of one group on one topic; `handled` says who finished which `partition:offset`. */
export class Group {
  readonly condition = new Condition()
  readonly handled: Handled = new Map()
  readonly apps: RunningApp[] = []
  readonly revoked: RevokedEvent[] = []
  readonly lost: LostEvent[] = []
  readonly committed: CommittedEvent[] = []
  private readonly unsubscribe: Array<() => void> = []

  constructor(
    private readonly broker: EmbeddedBroker,
    readonly topic: string,
    readonly groupId: string,
    readonly groupProtocol: 'classic' | 'consumer' = 'classic',
  ) {
    this.listen(CHANNELS.revoked, this.revoked)
    this.listen(CHANNELS.lost, this.lost)
    this.listen(CHANNELS.committed, this.committed)
  }

  private listen<E extends { groupId: string }>(channel: string, into: E[]): void {
    const listener = (message: unknown): void => {
      const event = message as E
      if (event.groupId !== this.groupId) return
      into.push(event)
      this.condition.poke()
    }
    diagnostics.subscribe(channel, listener)
    this.unsubscribe.push(() => diagnostics.unsubscribe(channel, listener))
  }

  /**
   * Starts an app whose handler is `handler` wrapped so that every record it finishes is logged (a
   * crashed app logs nothing more: what it does after dying does not count).
   */
  async start(
    name: string,
    handler: RecordHandler,
    options: Partial<BatonAppOptions> = {},
    consume: ConsumeOptions = { deadLetter: false },
  ): Promise<RunningApp> {
    const faults = new ConsumerFaults()
    const port = new GroupConsumerPort({
      bootstrapServers: this.broker.bootstrap,
      clientId: name,
      groupId: this.groupId,
      autoOffsetReset: 'earliest',
      ...(this.groupProtocol === 'consumer' ? { groupProtocol: 'consumer' as const, ...consumerProtocolTimings() } : groupTimings()),
      faults: faults.options,
    })
    const app = baton({
      groupId: this.groupId,
      brokers: this.broker.bootstrap,
      consumer: port,
      logger: silentLogger,
      signals: false,
      rebalanceTimeoutMs: REBALANCE_TIMEOUT_MS,
      drainTimeoutMs: 2_000,
      commitIntervalMs: 200,
      ...options,
    })
    const running: RunningApp = { name, app, consumer: port.consumer, faults, result: undefined }
    app.consume(
      this.topic,
      async (record, ctx) => {
        await handler(record, ctx)
        if (running.faults.dead) return
        const key = `${record.partition}:${record.offset}`
        this.handled.set(key, [...(this.handled.get(key) ?? []), name])
        this.condition.poke()
      },
      consume,
    )
    await app.start()
    this.apps.push(running)
    return running
  }

  async stop(running: RunningApp): Promise<RunResult> {
    running.result ??= await running.app.stop()
    return running.result
  }

  /** Kills an app's consumer: no commit, no LeaveGroup; the group notices after the session timeout. */
  crash(running: RunningApp): void {
    running.faults.crash()
  }

  async close(): Promise<void> {
    await Promise.all(this.apps.map((a) => this.stop(a)))
    for (const off of this.unsubscribe.splice(0)) off()
  }

  owners(running: RunningApp): number {
    return running.consumer.assignment().length
  }

  stable(...apps: RunningApp[]): boolean {
    return apps.every((a) => a.consumer.state === 'stable')
  }

  tally(partitions: number, perPartition: number): { duplicates: string[]; missing: string[] } {
    const duplicates = [...this.handled].filter(([, by]) => by.length > 1).map(([key]) => key)
    const missing: string[] = []
    for (let p = 0; p < partitions; p++) for (let o = 0; o < perPartition; o++) if (!this.handled.has(`${p}:${o}`)) missing.push(`${p}:${o}`)
    return { duplicates, missing }
  }

  async committedOffsets(partitions: number): Promise<Map<number, bigint>> {
    const admin = new Admin({ bootstrapServers: this.broker.bootstrap })
    try {
      const offsets = await admin.fetchOffsets(this.groupId, [{ topic: this.topic, partitions: Array.from({ length: partitions }, (_, i) => i) }])
      return new Map(offsets.map((o) => [o.partition, o.offset]))
    } finally {
      await admin.close()
    }
  }
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve()
    else signal.addEventListener('abort', () => resolve(), { once: true })
  })
}

/** A gate handlers wait on until the test opens it. */
export class Gate {
  private opened = false
  private waiters: Array<() => void> = []

  wait(): Promise<void> {
    if (this.opened) return Promise.resolve()
    return new Promise((resolve) => this.waiters.push(resolve))
  }

  open(): void {
    this.opened = true
    for (const w of this.waiters.splice(0)) w()
  }
}

export interface SuiteBroker {
  /** The suite's broker; started before the first test. */
  readonly broker: () => EmbeddedBroker
  /** A new topic with `perPartition` records in each partition, and a group of apps to read it. */
  readonly group: (topic: string, partitions: number, perPartition: number) => Promise<Group>
}

/** For a `describe` body: one embedded broker for its tests, with every group's apps stopped after them. */
export function suiteBroker(): SuiteBroker {
  const suite = brokerPerSuite(
    (broker, topic) => new Group(broker, topic, `${topic}-group`),
    (group) => group.close(),
  )
  return { broker: suite.broker, group: suite.topic }
}
