/**
 * Invariants of the server's two limits against clients that never finish their requests:
 * - the request memory cap (queued.max.request.bytes): a request is read only once its announced
 *   size is reserved; while others hold the cap a connection is not read, and its request waits
 *   until reserved bytes come back (a request handled, a connection closed); a request larger than
 *   the whole cap goes through alone;
 * - the idle timeout (connections.max.idle.ms): a connection that completes no request is closed,
 *   whether it is silent, stalled mid-request or trickling bytes; one whose request is being
 *   handled is never closed for it.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { RequestMemoryPool } from '../../src/net/request-memory.js'
import { silentLogger } from '../../src/net/logger.js'
import { KafkaServer } from '../../src/net/server.js'

const quiet = silentLogger
const KIB = 1024

/** A frame's size prefix followed by `bodyBytes` of its body (all of it when omitted); the body's first byte names it. */
function frame(name: number, size: number, bodyBytes = size): Buffer {
  const out = Buffer.alloc(4 + bodyBytes, 0)
  out.writeInt32BE(size, 0)
  if (bodyBytes > 0) out[4] = name
  return out
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe('server limits', () => {
  const cleanup: (() => Promise<void> | void)[] = []
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step()
  })

  async function serve(options: { capBytes?: number; idleTimeoutMs?: number; handle?: (name: number) => Promise<void> | void }) {
    const pool = new RequestMemoryPool(options.capBytes ?? 0)
    const handled: number[] = []
    const server = new KafkaServer({
      logger: quiet,
      memoryPool: pool,
      idleTimeoutMs: options.idleTimeoutMs ?? 0,
      handler: async (bytes) => {
        const name = bytes[0] ?? 0
        await options.handle?.(name)
        handled.push(name)
        return frame(name, 1)
      },
    })
    const port = await server.listen(0, '127.0.0.1')
    const sockets: Socket[] = []
    cleanup.push(async () => {
      for (const s of sockets) s.destroy()
      await server.close()
    })
    const open = async (): Promise<Socket> => {
      const socket = connect({ host: '127.0.0.1', port })
      socket.on('error', () => undefined)
      sockets.push(socket)
      await once(socket, 'connect')
      return socket
    }
    return { pool, handled, open }
  }

  it('a request waits, unread, while another holds the cap, and goes once the bytes come back', async () => {
    const { pool, handled, open } = await serve({ capBytes: 256 * KIB })
    const a = await open()
    const b = await open()
    a.write(frame(1, 200 * KIB, 10 * KIB)) // announces 200 KiB, sends 10
    await until(() => pool.reservedBytes === 200 * KIB, 'a reserves its announced size')
    b.write(frame(2, 100 * KIB)) // complete, but does not fit beside a's reservation
    await until(() => pool.waitingConnections === 1, 'b waits for memory')
    assert.deepEqual(handled, [], 'b is not handled while a holds the cap, although b sent everything first')
    assert.equal(pool.reservedBytes, 200 * KIB, 'nothing more was reserved')
    a.write(Buffer.alloc(190 * KIB))
    await until(() => handled.length === 2, 'both handled')
    assert.deepEqual(handled, [1, 2], 'a first, then b with the bytes a gave back')
    await until(() => pool.reservedBytes === 0, 'every byte given back')
  })

  it('a connection closed mid-request gives its reservation back to those waiting', async () => {
    const { pool, handled, open } = await serve({ capBytes: 256 * KIB })
    const a = await open()
    const b = await open()
    a.write(frame(1, 200 * KIB, 10 * KIB))
    await until(() => pool.reservedBytes === 200 * KIB, 'a reserves')
    b.write(frame(2, 100 * KIB))
    await until(() => pool.waitingConnections === 1, 'b waits')
    a.destroy()
    await until(() => handled.includes(2), 'b handled once a is gone')
    assert.deepEqual(handled, [2])
  })

  it('a request larger than the whole cap goes through alone', async () => {
    const { handled, open } = await serve({ capBytes: 64 * KIB })
    const a = await open()
    a.write(frame(3, 300 * KIB))
    await until(() => handled.includes(3), 'the large request handled')
  })

  it('the idle timeout closes silent, stalled and trickling connections', async () => {
    const { open } = await serve({ idleTimeoutMs: 300 })
    const silent = await open()
    const stalled = await open()
    stalled.write(frame(1, 10 * KIB, 100))
    const trickling = await open()
    trickling.write(frame(1, 10 * KIB, 0))
    // A byte every 50 ms: the socket is never quiet for the timeout, but no request ever completes.
    const drip = setInterval(() => trickling.write(Buffer.alloc(1)), 50)
    cleanup.push(() => clearInterval(drip))
    await Promise.all([once(silent, 'close'), once(stalled, 'close'), once(trickling, 'close')])
  })

  it('the idle timeout spares a connection whose request is being handled, and one that keeps completing requests', async () => {
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    // A timeout 20 times the step below: on a loaded machine a step can take several times its 50 ms,
    // and a gap as long as the timeout would rightly close `busy`.
    const idleTimeoutMs = 1000
    const { handled, open } = await serve({ idleTimeoutMs, handle: (name) => (name === 7 ? held : undefined) })
    const parked = await open()
    parked.write(frame(7, 16))
    const busy = await open()
    let closed = false
    parked.once('close', () => (closed = true))
    busy.once('close', () => (closed = true))
    // Well past the timeout, in steps of a fraction of it: `busy` completes a request at every step.
    const start = Date.now()
    for (let i = 0; Date.now() - start < 2.5 * idleTimeoutMs; i++) {
      busy.write(frame(8, 16))
      await until(() => handled.filter((n) => n === 8).length === i + 1, 'busy answered')
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    release()
    await until(() => handled.includes(7), 'the parked request answered')
    assert.equal(closed, false, 'neither connection was closed')
  })
})
