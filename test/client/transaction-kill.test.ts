/**
 * Invariant: a producer process killed with SIGKILL in the middle of a transaction, after its
 * records were acknowledged, leaves nothing visible to read_committed readers: once its
 * transaction timeout passes, the coordinator aborts the transaction, the partition's last stable
 * offset moves past it, and records written after it are readable (read_uncommitted still sees the
 * dead producer's records, which are in the log). A producer that is alive but let its transaction
 * outlive the timeout is fenced when it tries to commit.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Consumer, Producer, ProducerFencedError, type ConsumerRecord } from '../../src/client/index.js'
import { latestOffset, readValues } from '../broker/transactions/helpers.js'
import { take } from './helpers/take.js'

const CHILD = fileURLToPath(new URL('./helpers/transactional-child.ts', import.meta.url))
const TRANSACTION_TIMEOUT_MS = 2_000

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('a transactional producer killed with SIGKILL mid-transaction', () => {
  let broker: EmbeddedBroker
  before(async () => {
    broker = await startBroker({ nodes: 1, memory: true })
  })
  after(async () => {
    await broker.stop()
  })

  it('is aborted by the coordinator after its timeout: read_committed readers never see its records and the LSO moves on', async () => {
    const topic = 'killed-mid-transaction'
    broker.createTopic(topic, { partitions: 1 })
    const before = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'before-the-kill' })
    await before.transaction(async (tx) => {
      await tx.send({ topic, partition: 0, value: 'committed-before' })
    })
    await before.close()

    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, broker.bootstrap.join(','), topic, 'killed-producer', String(TRANSACTION_TIMEOUT_MS)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the child did not report its records acknowledged within 60 s; stderr: ${stderr}`)), 60_000)
        child.stdout.on('data', (chunk: Buffer) => {
          if (chunk.toString().includes('sent')) {
            clearTimeout(timer)
            resolve()
          }
        })
        child.once('exit', (code) => reject(new Error(`the child exited with ${code} before sending; stderr: ${stderr}`)))
      })
      // The transaction is open: its records are in the log, and the LSO holds at its first offset.
      assert.equal(await latestOffset(broker, topic, 0, 'read_uncommitted'), 22n)
      assert.equal(await latestOffset(broker, topic, 0, 'read_committed'), 2n)
    } finally {
      child.kill('SIGKILL')
    }
    await once(child, 'exit')

    // The coordinator aborts it once transactionTimeoutMs has passed: the LSO passes its ABORT marker.
    await waitFor('the LSO to move past the dead transaction', async () => (await latestOffset(broker, topic, 0, 'read_committed')) >= 23n, 30_000)

    const after = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'after-the-kill' })
    await after.transaction(async (tx) => {
      await tx.send({ topic, partition: 0, value: 'committed-after' })
    })
    await after.close()

    const consumer = new Consumer({ bootstrapServers: broker.bootstrap, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' })
    let seen: ConsumerRecord[]
    try {
      await consumer.assign([{ topic, partition: 0 }])
      seen = await take(consumer, 2, 20_000)
    } finally {
      await consumer.close()
    }
    assert.deepEqual(
      seen.map((r) => r.value?.toString()),
      ['committed-before', 'committed-after'],
    )
    const uncommitted = await readValues(broker, topic, 0, 'read_uncommitted')
    assert.equal(uncommitted.filter((v) => v.startsWith('doomed-')).length, 20, 'the dead producer’s records are in the log, only hidden')
  })

  it('a live producer whose transaction outlived its timeout is fenced when it tries to commit', async () => {
    const topic = 'outlived-timeout'
    broker.createTopic(topic, { partitions: 1 })
    const producer = new Producer({ bootstrapServers: broker.bootstrap, transactionalId: 'slow-producer', transactionTimeoutMs: 500 })
    try {
      await producer.initTransactions()
      producer.beginTransaction()
      await producer.send({ topic, partition: 0, value: 'too late' })
      await waitFor('the coordinator to abort the transaction', async () => (await latestOffset(broker, topic, 0, 'read_committed')) >= 2n, 30_000)
      await assert.rejects(producer.commitTransaction(), ProducerFencedError)
      await assert.rejects(producer.send({ topic, partition: 0, value: 'after' }), ProducerFencedError)
    } finally {
      await producer.close()
    }
    assert.deepEqual(await readValues(broker, topic, 0, 'read_committed'), [])
  })
})
