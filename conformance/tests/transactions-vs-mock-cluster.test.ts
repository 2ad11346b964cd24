/**
 * Invariant: baton's transactional producer speaks the transaction protocol the way a broker baton
 * did not write expects — librdkafka's mock cluster (3 brokers), which implements the transaction
 * coordinator's requests. Checked: the request flow (InitProducerId to the coordinator,
 * AddPartitionsToTxn before a partition's first Produce, AddOffsetsToTxn then TxnOffsetCommit,
 * EndTxn after the last acknowledgement), commit and abort accepted.
 *
 * The mock's limits shape the test: it ignores read_committed and does not store TxnOffsetCommit
 * offsets, so neither the visibility of records nor the committed offsets is asserted here; and it
 * does not fence an older epoch (a zombie's AddPartitionsToTxn, Produce and EndTxn are accepted
 * after a newer InitProducerId), so fencing is asserted against the embedded broker instead.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { after, before, describe, it } from 'node:test'
import { startMockCluster, type MockCluster } from './helpers/mock-cluster.js'
import { Producer, REQUEST_CHANNEL, type RequestEvent } from '../../src/client/index.js'

const TRANSACTION_APIS = new Set(['InitProducerId', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn', 'Produce'])

/** The transaction-related requests baton sends while `run` runs, in order. */
async function recordRequests(run: () => Promise<void>): Promise<string[]> {
  const seen: string[] = []
  const listener = (message: unknown): void => {
    const event = message as RequestEvent
    if (TRANSACTION_APIS.has(event.apiName)) seen.push(event.apiName)
  }
  diagnostics.subscribe(REQUEST_CHANNEL, listener)
  try {
    await run()
  } finally {
    diagnostics.unsubscribe(REQUEST_CHANNEL, listener)
  }
  return seen
}

describe("baton's transactional producer against librdkafka's mock cluster", () => {
  let mock: MockCluster
  before(async () => {
    mock = await startMockCluster()
  })
  after(async () => {
    await mock.stop()
  })

  it('commits: partitions added before their records, offsets through AddOffsetsToTxn and TxnOffsetCommit, EndTxn last', async () => {
    const producer = new Producer({ bootstrapServers: mock.bootstrap, transactionalId: 'mock-commit' })
    try {
      await producer.initTransactions()
      // Learn the topic first, so that both partitions are first written in one turn of the event loop.
      // The mock refuses offsets for a topic it does not have; asking for metadata creates it.
      await producer.cluster.waitForTopics(['txn-out', 'txn-in'])
      const requests = await recordRequests(async () => {
        await producer.transaction(async (tx) => {
          await Promise.all(Array.from({ length: 100 }, (_, i) => tx.send({ topic: 'txn-out', partition: i % 2, value: `v${i}` })))
          await tx.sendOffsets([{ topic: 'txn-in', partition: 0, offset: 100n }], { groupId: 'mock-group', generationId: -1, memberId: '', groupInstanceId: null })
        })
      })
      assert.equal(producer.transactionState, 'ready')
      assert.equal(requests[0], 'AddPartitionsToTxn', `flow: ${requests.join(' ')}`)
      assert.equal(requests.filter((r) => r === 'AddPartitionsToTxn').length, 1, 'both partitions in one request')
      assert.ok(requests.includes('Produce'))
      const addOffsets = requests.indexOf('AddOffsetsToTxn')
      assert.ok(addOffsets > 0 && requests[addOffsets + 1] === 'TxnOffsetCommit', `flow: ${requests.join(' ')}`)
      assert.equal(requests.at(-1), 'EndTxn')
      assert.ok(requests.lastIndexOf('Produce') < requests.indexOf('EndTxn'))
    } finally {
      await producer.close()
    }
  })

  it('aborts, and the next transaction of the same producer commits', async () => {
    const producer = new Producer({ bootstrapServers: mock.bootstrap, transactionalId: 'mock-abort' })
    try {
      await producer.initTransactions()
      producer.beginTransaction()
      await producer.send({ topic: 'txn-out', partition: 0, value: 'aborted' })
      const requests = await recordRequests(() => producer.abortTransaction())
      assert.deepEqual(requests, ['EndTxn'])
      assert.equal(producer.transactionState, 'ready')
      await producer.transaction(async (tx) => {
        await tx.send({ topic: 'txn-out', partition: 0, value: 'committed' })
      })
      assert.equal(producer.transactionState, 'ready')
    } finally {
      await producer.close()
    }
  })
})
