/**
 * Every client class takes the one logger interface (`logger`), is silent without one, and says
 * through it what it cannot do: here, that no broker could be reached.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { Admin, ConfigError, Producer, type Logger } from '../../src/client/index.js'

async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (address === null || typeof address === 'string') throw new Error('no port')
  return address.port
}

function recording(lines: { level: string; message: string | undefined }[]): Logger {
  const at = (level: string) => (_fields: object, message?: string) => void lines.push({ level, message })
  const logger: Logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => logger }
  return logger
}

describe('client logger option', () => {
  it('Admin and Producer report unreachable brokers through the logger they are given', async () => {
    const port = await closedPort()
    const lines: { level: string; message: string | undefined }[] = []
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, logger: recording(lines), requestTimeoutMs: 300, retryBackoffMs: 20 })
    try {
      await assert.rejects(admin.listTopics())
    } finally {
      await admin.close()
    }
    assert.ok(lines.some((l) => l.level === 'warn' && /no broker could be reached/.test(l.message ?? '')), JSON.stringify(lines))
  })

  it('refuses a logger that is not pino-compatible, naming what it lacks', () => {
    assert.throws(
      () => new Producer({ bootstrapServers: 'localhost:9092', logger: { info() {} } as unknown as Logger }),
      (e: unknown) => e instanceof ConfigError && e.option === 'logger' && /debug, warn, error, child/.test(e.message),
    )
  })
})
