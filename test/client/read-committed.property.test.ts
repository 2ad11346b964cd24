/**
 * Invariant: a read_committed consumer, given a fetch response as a broker builds it (the batches
 * below the last stable offset from the fetch offset on, and the aborted transactions that overlap
 * that range), delivers exactly the records of committed transactions and of non-transactional
 * producers, in offset order, never a control record: for random interleavings of several
 * producers' transactions, plain batches, commits and aborts, and any fetch offset.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { recordsFromFetch, type AbortedTransaction } from '../../src/client/consumer/records.js'
import { encodeControlBatch, encodeRecordBatch } from '../../src/protocol/records/index.js'

type Step = { producer: number; action: 'data' | 'plain' | 'commit' | 'abort'; count: number }

interface Built {
  bytes: Buffer[]
  firstOffsets: bigint[]
  lastOffsets: bigint[]
  aborted: Array<AbortedTransaction & { lastOffset: bigint }>
  /** Offsets a read_committed reader must see, with their values. */
  visible: Array<{ offset: bigint; value: string }>
  lastStableOffset: bigint
}

function build(steps: readonly Step[]): Built {
  const built: Built = { bytes: [], firstOffsets: [], lastOffsets: [], aborted: [], visible: [], lastStableOffset: 0n }
  let next = 0n
  const open = new Map<number, { firstOffset: bigint; records: Array<{ offset: bigint; value: string }> }>()
  const push = (bytes: Buffer, count: number): bigint => {
    const base = next
    built.bytes.push(bytes)
    built.firstOffsets.push(base)
    built.lastOffsets.push(base + BigInt(count) - 1n)
    next += BigInt(count)
    return base
  }
  for (const step of steps) {
    const producerId = BigInt(100 + step.producer)
    if (step.action === 'plain') {
      const values = Array.from({ length: step.count }, (_, i) => `plain-${next + BigInt(i)}`)
      const base = push(encodeRecordBatch({ baseOffset: next, records: values.map((value) => ({ key: null, value, timestamp: 0 })) }), step.count)
      values.forEach((value, i) => built.visible.push({ offset: base + BigInt(i), value }))
    } else if (step.action === 'data') {
      const values = Array.from({ length: step.count }, (_, i) => `p${step.producer}-${next + BigInt(i)}`)
      const base = push(encodeRecordBatch({ baseOffset: next, producerId, producerEpoch: 0, baseSequence: 0, transactional: true, records: values.map((value) => ({ key: null, value, timestamp: 0 })) }), step.count)
      let txn = open.get(step.producer)
      if (txn === undefined) open.set(step.producer, (txn = { firstOffset: base, records: [] }))
      values.forEach((value, i) => txn.records.push({ offset: base + BigInt(i), value }))
    } else {
      const txn = open.get(step.producer)
      if (txn === undefined) continue
      open.delete(step.producer)
      const marker = push(encodeControlBatch({ baseOffset: next, marker: step.action, producerId, producerEpoch: 0, coordinatorEpoch: 0, timestamp: 0 }), 1)
      if (step.action === 'commit') built.visible.push(...txn.records)
      else built.aborted.push({ producerId, firstOffset: txn.firstOffset, lastOffset: marker })
    }
  }
  // The LSO: the first offset of the earliest transaction still open, else the log end.
  built.lastStableOffset = [...open.values()].reduce((lso, t) => (t.firstOffset < lso ? t.firstOffset : lso), next)
  built.visible.sort((a, b) => (a.offset < b.offset ? -1 : 1))
  return built
}

const stepArb = fc.record({
  producer: fc.integer({ min: 0, max: 3 }),
  action: fc.constantFrom<Step['action'][]>('data', 'data', 'plain', 'commit', 'abort'),
  count: fc.integer({ min: 1, max: 4 }),
})

describe('read_committed against broker-built aborted-transaction lists', () => {
  it('delivers exactly the committed and non-transactional records below the LSO, in order, from any fetch offset', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), fc.nat(), (steps, startSeed) => {
        const log = build(steps)
        if (log.bytes.length === 0) return
        const lso = log.lastStableOffset
        const fetchOffset = lso === 0n ? 0n : BigInt(startSeed) % lso
        // What a broker returns for read_committed: whole batches from the one holding fetchOffset, up to the LSO.
        const chunks: Buffer[] = []
        for (let i = 0; i < log.bytes.length; i++) {
          if (log.lastOffsets[i]! >= fetchOffset && log.firstOffsets[i]! < lso) chunks.push(log.bytes[i]!)
        }
        const aborted = log.aborted.filter((a) => a.lastOffset >= fetchOffset && a.firstOffset < lso).map(({ producerId, firstOffset }) => ({ producerId, firstOffset }))
        const fetched = recordsFromFetch(Buffer.concat(chunks), { topic: 't', partition: 0, fetchOffset, readCommitted: true, aborted, verifyCrc: true })
        const expected = log.visible.filter((r) => r.offset >= fetchOffset && r.offset < lso)
        assert.deepEqual(
          fetched.records.map((r) => ({ offset: r.offset, value: r.value?.toString() })),
          expected,
        )
      }),
      { numRuns: 500 },
    )
  })

  it('read_uncommitted delivers every data record, aborted ones included, and no control record', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 30 }), (steps) => {
        const log = build(steps)
        const fetched = recordsFromFetch(Buffer.concat(log.bytes), { topic: 't', partition: 0, fetchOffset: 0n, readCommitted: false, aborted: null, verifyCrc: true })
        const dataCount = steps.reduce((n, s) => n + (s.action === 'data' || s.action === 'plain' ? s.count : 0), 0)
        assert.equal(fetched.records.length, dataCount)
        for (const r of fetched.records) assert.ok(r.value !== null && /^(plain|p\d)-/.test(r.value.toString()))
      }),
      { numRuns: 200 },
    )
  })
})
