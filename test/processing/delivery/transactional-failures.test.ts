/**
 * The transactional delivery when a transaction cannot commit, against a scripted producer:
 * - a fenced producer (its transaction outlived the timeout, or another took its id): the
 *   transaction is aborted, the commit fails as a stale generation, the outputs stay held, and the
 *   next commit writes them with a new producer;
 * - partitions lost while a transaction is open: it is aborted before its offsets are sent, and
 *   their held outputs are dropped (the next owner redoes those records).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ProducerFencedError, type ConsumerGroupMetadata, type ProducerRecord, type TransactionOffset, type TransactionState } from '../../../src/client/index.js'
import { TransactionalDelivery, type TransactionalProducer } from '../../../src/processing/delivery/transactional.js'
import { StaleGenerationError } from '../../../src/processing/errors.js'
import { silentLogger } from '../../../src/processing/logger.js'

const TP = { topic: 'in', partition: 0 }
const GROUP: ConsumerGroupMetadata = { groupId: 'g', generationId: 3, memberId: 'm', groupInstanceId: null }

class ScriptedProducer implements TransactionalProducer {
  transactionState: TransactionState | undefined = 'uninitialized'
  readonly committed: string[][] = []
  readonly offsets: TransactionOffset[][] = []
  private sent: string[] = []
  closed = false
  fenceOnCommit = false
  onSend: (() => void) | undefined

  initTransactions(): Promise<void> {
    this.transactionState = 'ready'
    return Promise.resolve()
  }
  beginTransaction(): void {
    this.transactionState = 'in-transaction'
    this.sent = []
  }
  sendBatch(records: readonly ProducerRecord[]): Promise<unknown> {
    this.sent.push(...records.map((r) => String(r.value)))
    this.onSend?.()
    return Promise.resolve()
  }
  sendOffsets(offsets: readonly TransactionOffset[]): Promise<void> {
    this.offsets.push([...offsets])
    return Promise.resolve()
  }
  commitTransaction(): Promise<void> {
    if (this.fenceOnCommit) {
      this.transactionState = 'fatal-error'
      return Promise.reject(new ProducerFencedError('t'))
    }
    this.committed.push(this.sent)
    this.transactionState = 'ready'
    return Promise.resolve()
  }
  abortTransaction(): Promise<void> {
    this.transactionState = 'ready'
    return Promise.resolve()
  }
  close(): Promise<void> {
    this.closed = true
    return Promise.resolve()
  }
}

function delivery(producers: ScriptedProducer[]): TransactionalDelivery {
  return new TransactionalDelivery({
    settings: { transactionalId: 't', maxRecords: 100, maxMs: 10, transactionTimeoutMs: 1000 },
    createProducer: () => {
      const producer = new ScriptedProducer()
      producers.push(producer)
      return producer
    },
    groupMetadata: () => GROUP,
    logger: silentLogger,
  })
}

describe('transactional delivery: transactions that cannot commit', () => {
  it('a fenced producer: aborted, stale generation, outputs kept for the next commit on a new producer', async () => {
    const producers: ScriptedProducer[] = []
    const d = delivery(producers)
    await d.init()
    d.hold(TP, [0n], [{ topic: 'out', value: 'a' }])
    d.hold(TP, [1n], [{ topic: 'out', value: 'b' }])
    ;(producers[0] as ScriptedProducer).fenceOnCommit = true
    await assert.rejects(d.commit([{ ...TP, offset: 2n }], 'completion'), StaleGenerationError)
    assert.equal(producers[0]?.closed, true)
    assert.equal(d.heldRecords, 2)
    await d.commit([{ ...TP, offset: 2n }], 'completion')
    assert.equal(producers.length, 2)
    assert.deepEqual(producers[1]?.committed, [['a', 'b']])
    assert.deepEqual(producers[1]?.offsets, [[{ topic: 'in', partition: 0, offset: 2n, metadata: null }]])
    assert.equal(d.heldRecords, 0)
  })

  it('partitions lost while the transaction is open: aborted before its offsets go, their outputs dropped', async () => {
    const producers: ScriptedProducer[] = []
    const d = delivery(producers)
    await d.init()
    d.hold(TP, [0n], [{ topic: 'out', value: 'a' }])
    const producer = producers[0] as ScriptedProducer
    producer.onSend = () => void d.lost([TP])
    await assert.rejects(d.commit([{ ...TP, offset: 1n }], 'completion'), StaleGenerationError)
    assert.deepEqual(producer.offsets, [])
    assert.deepEqual(producer.committed, [])
    assert.equal(d.heldRecords, 0)
  })
})
