/**
 * Property: whatever the interleaving of transactional produce (several producers on the same
 * partitions), plain produce, commits and aborts, a read_committed reader sees exactly the
 * committed and non-transactional records below the last stable offset, in offset order, and the
 * LSO is always the first offset of the oldest open transaction (the high watermark when none is
 * open): it never passes an open transaction, and it never lags behind a decided one.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import fc from 'fast-check'
import { startBroker, type EmbeddedBroker } from '../../../src/broker/index.js'
import { Produce } from '../../../src/protocol/generated/index.js'
import { encodeRecordBatch } from '../../../src/protocol/records/index.js'
import { latestOffset, readPartition } from './helpers.js'
import { Wire, WireProducer } from './wire.js'

const PRODUCERS = 3
const PARTITIONS = 2

type Op =
  | { readonly kind: 'produce'; readonly producer: number; readonly partition: number; readonly count: number }
  | { readonly kind: 'plain'; readonly partition: number; readonly count: number }
  | { readonly kind: 'commit' | 'abort'; readonly producer: number }

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('produce' as const), producer: fc.nat(PRODUCERS - 1), partition: fc.nat(PARTITIONS - 1), count: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('plain' as const), partition: fc.nat(PARTITIONS - 1), count: fc.integer({ min: 1, max: 2 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constantFrom('commit' as const, 'abort' as const), producer: fc.nat(PRODUCERS - 1) }) },
)

interface ModelRecord {
  readonly value: string
  readonly offset: bigint
  /** null for plain records; the producer and its transaction number otherwise. */
  readonly txn: { producer: number; seq: number } | null
}

describe('transactions under random interleavings', () => {
  let broker: EmbeddedBroker
  let wire: Wire
  let run = 0

  before(async () => {
    broker = await startBroker()
    wire = await Wire.open(broker)
  })
  after(async () => {
    await wire.close()
    await broker.stop()
  })

  it('read_committed sees exactly the decided-and-committed records in offset order; the LSO stops at the oldest open transaction', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 30 }), async (ops) => {
        const topic = `interleave-${run++}`
        broker.createTopic(topic, { partitions: PARTITIONS })
        const producers = await Promise.all(
          Array.from({ length: PRODUCERS }, async (_, i) => {
            const p = new WireProducer(wire, `${topic}-p${i}`)
            assert.equal(await p.init(), 0)
            return p
          }),
        )
        const records: ModelRecord[][] = Array.from({ length: PARTITIONS }, () => [])
        const outcome = new Map<string, 'commit' | 'abort'>()
        const open: ({ seq: number; partitions: Set<number> } | null)[] = producers.map(() => null)
        let txnSeq = 0
        let next = 0

        const expectedLso = (partition: number): bigint => {
          let lso = BigInt(broker.offsets(topic, partition).logEndOffset)
          for (const r of records[partition]!) {
            if (r.txn !== null && !outcome.has(`${r.txn.producer}/${r.txn.seq}`) && r.offset < lso) lso = r.offset
          }
          return lso
        }

        for (const op of ops) {
          if (op.kind === 'plain') {
            const values = Array.from({ length: op.count }, () => `v${next++}`)
            const r = await wire.leader(topic, op.partition).request(Produce, 9, {
              acks: -1,
              timeoutMs: 5000,
              topicData: [{ name: topic, partitionData: [{ index: op.partition, records: encodeRecordBatch({ records: values.map((value) => ({ key: null, value, timestamp: Date.now() })) }) }] }],
            })
            const answer = r.responses[0]!.partitionResponses[0]!
            assert.equal(answer.errorCode, 0)
            values.forEach((value, i) => records[op.partition]!.push({ value, offset: answer.baseOffset + BigInt(i), txn: null }))
          } else if (op.kind === 'produce') {
            const p = producers[op.producer]!
            let txn = open[op.producer]
            if (txn === null || txn === undefined) open[op.producer] = txn = { seq: txnSeq++, partitions: new Set() }
            if (!txn.partitions.has(op.partition)) {
              assert.deepEqual(await p.addPartitions([{ topic, partition: op.partition }]), [0])
              txn.partitions.add(op.partition)
            }
            const values = Array.from({ length: op.count }, () => `v${next++}`)
            const answer = await p.produce(topic, op.partition, values)
            assert.equal(answer.errorCode, 0)
            const seq = txn.seq
            values.forEach((value, i) => records[op.partition]!.push({ value, offset: answer.baseOffset + BigInt(i), txn: { producer: op.producer, seq } }))
          } else {
            const txn = open[op.producer]
            if (txn === null || txn === undefined) continue
            assert.equal(await producers[op.producer]!.end(op.kind === 'commit'), 0)
            outcome.set(`${op.producer}/${txn.seq}`, op.kind)
            open[op.producer] = null
          }
          for (let partition = 0; partition < PARTITIONS; partition++) {
            assert.equal(await latestOffset(broker, topic, partition, 'read_committed'), expectedLso(partition), `LSO of partition ${partition} after ${JSON.stringify(op)}`)
          }
        }

        for (let partition = 0; partition < PARTITIONS; partition++) {
          const lso = expectedLso(partition)
          const visible = records[partition]!.filter((r) => r.offset < lso && (r.txn === null || outcome.get(`${r.txn.producer}/${r.txn.seq}`) === 'commit'))
          // A small maxBytes makes the reader page through the log, so aborted lists are checked at every position.
          const committed = await readPartition(broker, topic, partition, 'read_committed', 200)
          assert.deepEqual(committed.values, visible.map((r) => r.value))
          assert.deepEqual(committed.offsets, visible.map((r) => r.offset), 'in offset order')
          assert.equal(committed.lastStableOffset, lso)
          const all = await readPartition(broker, topic, partition, 'read_uncommitted')
          assert.deepEqual(all.values, records[partition]!.map((r) => r.value))
        }
        // Leave no transaction open for the next run's LSO (each run has its own topic, but be tidy).
        for (const [i, txn] of open.entries()) if (txn !== null) await producers[i]!.end(false)
      }),
      { numRuns: 40 },
    )
  })
})
