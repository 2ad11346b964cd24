import { describe, it } from 'node:test'
import { EventEmitter, once } from 'node:events'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import type { FetchedRecord } from '../../src/processing/consumer-port.js'
import type { Work } from '../../src/processing/handler.js'
import { ConcurrencyLimiter, EventLoopTurns } from '../../src/processing/limiter.js'
import { silentLogger } from '../../src/processing/logger.js'
import { PartitionWorker, type ConcurrencyMode } from '../../src/processing/partition-worker.js'
import { deferred, within, type Deferred } from './helpers.js'

interface Harness {
  readonly worker: PartitionWorker
  /** Emits 'start' with the work each time a step starts. */
  readonly events: EventEmitter
  /** Work started and not yet finished by the test, in start order. */
  readonly running: { work: Work; done: Deferred }[]
  readonly started: bigint[]
  readonly flow: string[]
  deliver(records: FetchedRecord[], nextOffset?: bigint): void
  finish(offset: bigint): Promise<void>
}

function record(offset: number, key: string | null = null): FetchedRecord {
  return { topic: 't', partition: 0, offset: BigInt(offset), timestamp: 0, key: key === null ? null : Buffer.from(key), value: null, headers: [] }
}

function harness(options: { mode?: ConcurrencyMode; limiter?: ConcurrencyLimiter; maxQueued?: number; batchSize?: number } = {}): Harness {
  const running: Harness['running'] = []
  const started: bigint[] = []
  const flow: string[] = []
  const events = new EventEmitter()
  const worker = new PartitionWorker({
    topic: 't',
    partition: 0,
    mode: options.mode ?? 'partition',
    batchSize: options.batchSize,
    maxQueued: options.maxQueued ?? 1000,
    limiter: options.limiter ?? new ConcurrencyLimiter(1000),
    turns: new EventLoopTurns(),
    chain: {
      attempt: (work) => {
        const done = deferred()
        running.push({ work, done })
        for (const r of work.records) started.push(r.offset)
        events.emit('start', work)
        return done.promise
      },
      recover: (_work, _ctx, error) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
    },
    logger: silentLogger,
    produce: () => Promise.resolve(),
    pause: () => flow.push('pause'),
    resume: () => flow.push('resume'),
    observer: { settled() {}, inFlightChanged() {}, internalError: (error) => assert.fail(error) },
    redispatchDelayMs: 10,
  })
  return {
    worker,
    events,
    running,
    started,
    flow,
    deliver(records, nextOffset) {
      const last = records[records.length - 1]
      worker.enqueue({ topic: 't', partition: 0, records, nextOffset: nextOffset ?? (last === undefined ? 0n : last.offset + 1n), highWatermark: 0n })
    },
    async finish(offset) {
      const index = running.findIndex((r) => r.work.records.some((x) => x.offset === offset))
      assert.ok(index >= 0, `offset ${offset} is not running`)
      const [entry] = running.splice(index, 1)
      entry?.done.resolve()
      await new Promise((resolve) => setImmediate(resolve))
    },
  }
}

describe('PartitionWorker', () => {
  it('partition mode runs one record at a time, in offset order', async () => {
    const h = harness()
    h.deliver([record(0), record(1), record(2)])
    assert.deepEqual(h.started, [0n])
    await h.finish(0n)
    assert.deepEqual(h.started, [0n, 1n])
    await h.finish(1n)
    await h.finish(2n)
    assert.deepEqual(h.started, [0n, 1n, 2n])
    assert.equal(h.worker.tracker.committable(), 3n)
  })

  it('batch handlers get up to batchSize queued records per call, in order', async () => {
    const h = harness({ batchSize: 2 })
    h.deliver([record(0), record(1), record(2)])
    assert.deepEqual(h.running[0]?.work.records.map((r) => r.offset), [0n, 1n])
    await h.finish(0n)
    assert.deepEqual(h.running[0]?.work.records.map((r) => r.offset), [2n])
    assert.equal(h.worker.tracker.committable(), 2n)
  })

  it('commits past offsets the fetcher skipped (transaction markers) once the records around them are done', async () => {
    const h = harness()
    h.deliver([record(0), record(5)], 7n)
    await h.finish(0n)
    assert.equal(h.worker.tracker.committable(), 5n)
    await h.finish(5n)
    assert.equal(h.worker.tracker.committable(), 7n)
  })

  it('pauses fetching when the queue is full and resumes once it has drained to half', async () => {
    const h = harness({ maxQueued: 4 })
    h.deliver([0, 1, 2, 3, 4].map((o) => record(o)))
    assert.deepEqual(h.flow, ['pause'], 'one running, four queued')
    await h.finish(0n)
    assert.deepEqual(h.flow, ['pause'], 'three queued: above half')
    await h.finish(1n)
    assert.deepEqual(h.flow, ['pause', 'resume'], 'two queued: half')
  })

  it('keeps the global concurrency cap across partitions', async () => {
    const limiter = new ConcurrencyLimiter(2)
    const a = harness({ mode: 'key', limiter })
    const b = harness({ mode: 'key', limiter })
    a.deliver([record(0, 'x'), record(1, 'y'), record(2, 'z')])
    b.deliver([record(0, 'x'), record(1, 'y')])
    assert.equal(a.running.length + b.running.length, 2)
    assert.equal(b.running.length, 0, 'b waits for a slot')
    await a.finish(0n)
    assert.equal(limiter.inUse, 2)
    assert.deepEqual(a.started, [0n, 1n, 2n], 'a asked for a slot first, so it gets the first freed one')
    await a.finish(1n)
    assert.equal(limiter.inUse, 2)
    assert.deepEqual(b.started, [0n], 'then b, which asked next')
  })

  it('a freed slot is not swallowed by a revoked partition that was waiting for it', async () => {
    const limiter = new ConcurrencyLimiter(1)
    const a = harness({ limiter })
    const b = harness({ limiter })
    const c = harness({ limiter })
    a.deliver([record(0)])
    b.deliver([record(0)])
    c.deliver([record(0)])
    b.worker.beginRevoke()
    await a.finish(0n)
    assert.equal(c.running.length, 1)
  })

  it('after a revocation begins, dispatches nothing and keeps queued records uncommitted', async () => {
    const h = harness({ mode: 'key' })
    h.deliver([record(0, 'a'), record(1, 'a'), record(2, 'b')])
    h.worker.beginRevoke()
    await h.finish(0n)
    await h.finish(2n)
    assert.deepEqual(h.started, [0n, 2n])
    assert.equal(h.worker.tracker.committable(), 1n, 'offset 1 was queued, never run')
    await h.worker.idle()
  })

  /** Rejects the running work of `offset` as a broken middleware would, and resolves when it starts again. */
  async function failAndAwaitRerun(h: Harness, offset: bigint): Promise<void> {
    const index = h.running.findIndex((r) => r.work.records[0]?.offset === offset)
    const [entry] = h.running.splice(index, 1)
    const rerun = once(h.events, 'start') as Promise<[Work]>
    entry?.done.reject(new Error('middleware bug'))
    const [work] = await within(rerun)
    assert.equal(work.records[0]?.offset, offset)
  }

  it('partition mode: work failing outside the retry path runs again later, before anything after it', async () => {
    const h = harness()
    h.deliver([record(0), record(1), record(2)])
    await failAndAwaitRerun(h, 0n)
    assert.deepEqual(h.started, [0n, 0n])
    await h.finish(0n)
    await h.finish(1n)
    await h.finish(2n)
    assert.deepEqual(h.started, [0n, 0n, 1n, 2n])
    assert.equal(h.worker.tracker.committable(), 3n)
  })

  it('key mode: work failing outside the retry path holds back its key only, then runs again', async () => {
    const h = harness({ mode: 'key' })
    h.deliver([record(0, 'a'), record(1, 'a'), record(2, 'b')])
    await failAndAwaitRerun(h, 0n)
    await h.finish(2n)
    assert.equal(h.started.includes(1n), false, 'offset 1 (key a) waited for offset 0 to run again')
    await h.finish(0n)
    await h.finish(1n)
    assert.deepEqual(h.started.filter((o) => o !== 2n), [0n, 0n, 1n])
    assert.equal(h.worker.tracker.committable(), 3n)
  })

  it('property: key mode keeps per-key order, never runs a key twice at once, and never commits past unfinished work', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom('a', 'b', 'c', 'd', null), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 80 }),
        async (keys, choices) => {
          const h = harness({ mode: 'key' })
          const records = keys.map((key, offset) => record(offset, key))
          const done = new Set<bigint>()
          h.deliver(records)
          const check = (): void => {
            const runningKeys = h.running.map((r) => r.work.records[0]?.key?.toString()).filter((k) => k !== undefined)
            assert.equal(new Set(runningKeys).size, runningKeys.length, 'a key runs once at a time')
            const unfinished = records.filter((r) => !done.has(r.offset)).map((r) => r.offset)
            assert.equal(h.worker.tracker.committable(), unfinished[0] ?? BigInt(records.length))
          }
          check()
          for (const choice of [...choices, ...records.map(() => 0)]) {
            if (h.running.length === 0) break
            const entry = h.running[choice % h.running.length]
            const offset = entry?.work.records[0]?.offset as bigint
            done.add(offset)
            await h.finish(offset)
            check()
          }
          assert.equal(h.worker.tracker.committable(), BigInt(records.length), 'everything finishes')
          for (const key of new Set(keys)) {
            if (key === null) continue
            const order = h.started.filter((o) => keys[Number(o)] === key)
            assert.deepEqual(order, [...order].sort((x, y) => (x < y ? -1 : 1)), `key ${key} ran in offset order`)
          }
        },
      ),
      { numRuns: 100 },
    )
  })
})
