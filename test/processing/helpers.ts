/**
 * Test helpers for the processing framework: deferred promises, a handler whose records each wait
 * for the test to finish them, and an app wired to the fake consumer group.
 */
import diagnostics from 'node:diagnostics_channel'
import { EventEmitter } from 'node:events'
import { baton, type BatonApp, type BatonAppOptions } from '../../src/processing/app.js'
import type { ConsumeOptions } from '../../src/processing/config.js'
import type { ConsumedRecord, Context, RecordHandler } from '../../src/processing/handler.js'
import { silentLogger } from '../../src/processing/logger.js'
import { FakeCluster, FakeProducer, type FakeConsumer, type FakeClusterOptions } from '../../src/processing/testing/fake-consumer.js'

export interface Deferred<T = void> {
  readonly promise: Promise<T>
  resolve(value: T): void
  reject(error: Error): void
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (error: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Rejects after `ms` unless `promise` settles first; the timer never outlives the race. */
export async function within<T>(promise: Promise<T>, ms = 5000, what = 'the awaited event'): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export interface Call {
  readonly member: string
  readonly offset: bigint
  readonly partition: number
  readonly key: string | null
  readonly ctx: Context
}

/**
 * A handler the test drives: each record's call waits until the test calls `finish(offset)` (or
 * `fail`), unless its offset is in `auto`, which completes at once. `completed` lists the records
 * whose handler returned successfully, per member: the effects that happened.
 */
export class ControlledHandler extends EventEmitter {
  readonly calls: Call[] = []
  readonly completed: { member: string; partition: number; offset: bigint }[] = []
  private readonly gates = new Map<string, Deferred>()
  private readonly starts = new Map<string, Deferred<Call>>()

  constructor(private readonly auto: (offset: bigint, partition: number) => boolean = () => false) {
    super()
  }

  for(member: string): RecordHandler {
    return async (record: ConsumedRecord, ctx: Context) => {
      const call: Call = { member, offset: record.offset, partition: record.partition, key: record.key?.toString() ?? null, ctx }
      this.calls.push(call)
      this.startGate(record.partition, record.offset).resolve(call)
      this.emit('call', call)
      if (!this.auto(record.offset, record.partition)) await this.gate(record.partition, record.offset).promise
      this.completed.push({ member, partition: record.partition, offset: record.offset })
    }
  }

  /** Resolves with the (latest) call for this record once its handler has started. */
  started(offset: bigint, partition = 0, ms = 5000): Promise<Call> {
    return within(this.startGate(partition, offset).promise, ms, `the handler of offset ${offset}`)
  }

  /** Resolves with the first call, past or future, that matches. */
  call(predicate: (call: Call) => boolean, ms = 5000): Promise<Call> {
    const found = this.calls.find(predicate)
    if (found !== undefined) return Promise.resolve(found)
    let onCall: ((call: Call) => void) | undefined
    const next = new Promise<Call>((resolve) => {
      onCall = (call: Call): void => {
        if (predicate(call)) resolve(call)
      }
      this.on('call', onCall)
    })
    return within(next, ms, 'a matching handler call').finally(() => this.off('call', onCall as (call: Call) => void))
  }

  finish(offset: bigint, partition = 0): void {
    this.gate(partition, offset).resolve()
  }

  fail(offset: bigint, error: Error, partition = 0): void {
    this.gate(partition, offset).reject(error)
  }

  /** Lets a record run again (after an abort or a retry) with a fresh gate. */
  reset(offset: bigint, partition = 0): void {
    this.gates.delete(`${partition}:${offset}`)
    this.starts.delete(`${partition}:${offset}`)
  }

  completedOffsets(member?: string): bigint[] {
    return this.completed.filter((c) => member === undefined || c.member === member).map((c) => c.offset)
  }

  private gate(partition: number, offset: bigint): Deferred {
    const key = `${partition}:${offset}`
    let gate = this.gates.get(key)
    if (gate === undefined) this.gates.set(key, (gate = deferred()))
    return gate
  }

  private startGate(partition: number, offset: bigint): Deferred<Call> {
    const key = `${partition}:${offset}`
    let start = this.starts.get(key)
    if (start === undefined) this.starts.set(key, (start = deferred<Call>()))
    return start
  }
}

export interface Member {
  readonly app: BatonApp
  readonly consumer: FakeConsumer
}

export interface Group {
  readonly cluster: FakeCluster
  readonly producer: FakeProducer
  member<V = Buffer | null>(id: string, handler: RecordHandler<V>, consume?: ConsumeOptions<V>, options?: Partial<BatonAppOptions>): Promise<Member>
  /** Stops every app started through `member`. */
  close(): Promise<void>
}

export function group(topic = 'orders', partitions = 1, options: FakeClusterOptions = {}): Group {
  const cluster = new FakeCluster(options)
  cluster.createTopic(topic, partitions)
  const producer = new FakeProducer()
  const apps: BatonApp[] = []
  return {
    cluster,
    producer,
    async member<V>(id: string, handler: RecordHandler<V>, consume: ConsumeOptions<V> = {}, options: Partial<BatonAppOptions> = {}) {
      const consumer = cluster.member(id)
      const app = baton({
        groupId: 'test-group',
        consumer,
        producer,
        logger: silentLogger,
        signals: false,
        commitIntervalMs: 3_600_000,
        drainTimeoutMs: 2000,
        ...options,
      })
      app.consume(topic, handler, consume)
      await app.start()
      apps.push(app)
      return { app, consumer }
    },
    async close() {
      await Promise.all(apps.map((app) => app.stop()))
    },
  }
}

/** Collects messages published on a diagnostics channel until `stop()`. */
export function listen<T>(channel: string): { readonly messages: T[]; stop(): void } {
  const messages: T[] = []
  const onMessage = (message: unknown): void => void messages.push(message as T)
  diagnostics.subscribe(channel, onMessage)
  return { messages, stop: () => void diagnostics.unsubscribe(channel, onMessage) }
}

export const TP0 = { topic: 'orders', partition: 0 }
