/**
 * A test-only Kafka connection built from the protocol layer: one socket, a FrameDecoder, requests
 * encoded with encodeRequest and answers matched by correlation id. Deliberately small; the real
 * client lives in src/client.
 */
import { connect, type Socket } from 'node:net'
import { FrameDecoder } from '../../../src/net/frame-decoder.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { decodeResponse, encodeRequest, peekCorrelationId } from '../../../src/protocol/frame.js'

interface Pending {
  decode(frame: Buffer): void
  fail(error: Error): void
}

export class ConnectionClosed extends Error {
  readonly code = 'TEST_CONNECTION_CLOSED'
}

export class TestConnection {
  private readonly socket: Socket
  private readonly decoder = new FrameDecoder()
  private readonly pending = new Map<number, Pending>()
  private nextCorrelationId = 1
  /** Resolves when the socket closes, whoever closed it. */
  readonly closed: Promise<void>
  private unexpected: Buffer[] = []

  private constructor(socket: Socket) {
    this.socket = socket
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) {
        // A bare SASL token (after a v0 handshake) may be shorter than a correlation id.
        if (frame.length < 4) {
          this.unexpected.push(frame)
          continue
        }
        const waiter = this.pending.get(peekCorrelationId(frame))
        if (waiter === undefined) {
          this.unexpected.push(frame)
          continue
        }
        this.pending.delete(peekCorrelationId(frame))
        waiter.decode(frame)
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      for (const waiter of this.pending.values()) waiter.fail(new ConnectionClosed('connection closed before the response'))
      this.pending.clear()
    })
  }

  static async open(hostPort: string): Promise<TestConnection> {
    const at = hostPort.lastIndexOf(':')
    const socket = connect({ host: hostPort.slice(0, at), port: Number(hostPort.slice(at + 1)) })
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.setNoDelay(true)
    return new TestConnection(socket)
  }

  /** Sends a request and resolves with the decoded response body; rejects after `timeoutMs`. */
  request<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, body: ReqInit, timeoutMs = 5000): Promise<Res> {
    const correlationId = this.nextCorrelationId++
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId)
        reject(new Error(`${api.name} v${version} got no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(correlationId, {
        decode: (frame) => {
          clearTimeout(timer)
          try {
            resolve(decodeResponse(api, version, frame).body)
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)))
          }
        },
        fail: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.socket.write(encodeRequest(api, version, { correlationId, clientId: 'baton-test' }, body))
    })
  }

  /** Sends a request that takes no response (Produce acks=0). */
  send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, body: ReqInit): void {
    this.socket.write(encodeRequest(api, version, { correlationId: this.nextCorrelationId++, clientId: 'baton-test' }, body))
  }

  /**
   * Writes a hand-made request frame (size prefix included) whose header carries `correlationId`,
   * and resolves with the raw response frame (without its size prefix).
   */
  requestRaw(frame: Buffer, correlationId: number, timeoutMs = 5000): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId)
        reject(new Error(`raw request ${correlationId} got no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(correlationId, {
        decode: (response) => {
          clearTimeout(timer)
          resolve(response)
        },
        fail: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      this.socket.write(frame)
    })
  }

  /** Writes raw bytes, for malformed-input tests. */
  writeRaw(bytes: Buffer): void {
    this.socket.write(bytes)
  }

  /** Responses that matched no request (there should be none). */
  get unmatchedResponses(): number {
    return this.unexpected.length
  }

  get isClosed(): boolean {
    return this.socket.destroyed
  }

  async close(): Promise<void> {
    this.socket.destroy()
    await this.closed
  }
}

/** Waits for `promise` at most `ms`, failing with `what` in the message. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
