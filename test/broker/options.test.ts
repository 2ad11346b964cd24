/**
 * startBroker's options: bad values are refused with a typed error naming the option, wildcard
 * listeners advertise an address clients can dial, and a fixed port gives consecutive node ports.
 */
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { BrokerError, startBroker } from '../../src/broker/index.js'
import { Metadata } from '../../src/protocol/generated/index.js'
import { TestConnection } from './helpers/connection.js'

describe('broker options', () => {
  it('refuses out-of-range options with BROKER_INVALID_OPTION', async () => {
    await assert.rejects(startBroker({ nodes: 0 }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_INVALID_OPTION')
    await assert.rejects(startBroker({ port: 65535, nodes: 2 }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_INVALID_OPTION')
    await assert.rejects(startBroker({ fetchSessions: { cacheSlots: -1 } }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_INVALID_OPTION')
    await assert.rejects(startBroker({ fetchSessions: { evictionMs: 1.5 } }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_INVALID_OPTION')
  })

  it('reports a taken port as BROKER_INVALID_OPTION', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const { port } = blocker.address() as { port: number }
    try {
      await assert.rejects(startBroker({ port }), (error: unknown) => error instanceof BrokerError && error.code === 'BROKER_INVALID_OPTION')
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()))
    }
  })

  it('advertises 127.0.0.1 when listening on every interface', async () => {
    const broker = await startBroker({ host: '0.0.0.0', nodes: 2 })
    try {
      assert.ok(broker.bootstrap.every((b) => b.startsWith('127.0.0.1:')))
      const conn = await TestConnection.open(broker.bootstrap[1]!)
      try {
        const metadata = await conn.request(Metadata, 12, { topics: [] })
        assert.deepEqual(
          metadata.brokers.map((b) => b.host),
          ['127.0.0.1', '127.0.0.1'],
        )
      } finally {
        await conn.close()
      }
    } finally {
      await broker.stop()
    }
  })
})
