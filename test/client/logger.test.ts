/**
 * Every client class takes the one logger interface (`logger`), is silent without one, and says
 * through it what it cannot do: here, that no broker could be reached.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { Admin, ConfigError, Producer, type Logger } from '../../src/client/index.js'
import { closedPort, recordingLogger, type LogLine } from '../helpers/logging.js'

describe('client logger option', () => {
  it('Admin and Producer report unreachable brokers through the logger they are given', async () => {
    const port = await closedPort()
    const lines: LogLine[] = []
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, logger: recordingLogger(lines), requestTimeoutMs: 300, retryBackoffMs: 20 })
    try {
      await assert.rejects(admin.listTopics())
    } finally {
      await admin.close()
    }
    assert.ok(lines.some((l) => l.level === 'warn' && /no broker could be reached/.test(l.message)), JSON.stringify(lines))
  })

  it('refuses a logger that is not pino-compatible, naming what it lacks', () => {
    assert.throws(
      () => new Producer({ bootstrapServers: 'localhost:9092', logger: { info() {} } as unknown as Logger }),
      (e: unknown) => e instanceof ConfigError && e.option === 'logger' && /debug, warn, error, child/.test(e.message),
    )
  })
})
