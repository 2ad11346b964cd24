/**
 * A scripted Kafka-protocol server for deterministic tests of the client: each API key gets a
 * handler that returns a response body, or says to hang, close the socket or answer late.
 * Requests on one connection are answered in order, as a Kafka broker does.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { decodeRequestBody, decodeRequestHeader, encodeResponse } from '../../../src/protocol/frame.js'
import { ApiVersions, apiSpecByKey } from '../../../src/protocol/generated/index.js'
import { FrameDecoder } from '../../../src/net/frame-decoder.js'
import { CLIENT_VERSIONS } from '../../../src/net/versions.js'

export const HANG = Symbol('hang')
export const CLOSE = Symbol('close')
export const NO_RESPONSE = Symbol('no response')

export interface ReceivedRequest {
  readonly apiKey: number
  readonly apiName: string
  readonly version: number
  readonly correlationId: number
  readonly clientId: string | null
  readonly body: unknown
  readonly connection: number
}

export type HandlerResult = object | typeof HANG | typeof CLOSE | typeof NO_RESPONSE
export type Handler = (request: ReceivedRequest) => HandlerResult | Promise<HandlerResult>

export interface FakeServerOptions {
  /** What ApiVersions advertises; defaults to baton's own client ranges. */
  versions?: ReadonlyMap<number, { min: number; max: number }>
  /** Answer ApiVersions at versions above this with UNSUPPORTED_VERSION in v0, like an old broker. */
  maxApiVersionsVersion?: number
  /**
   * Answer ApiVersions above maxApiVersionsVersion the way librdkafka's mock cluster does: a body
   * that is neither v0 nor the version asked for.
   */
  garbledUnsupportedApiVersions?: boolean
  /** Bytes appended to every other response body, as a sloppy broker might. */
  trailingBytes?: number
}

export class FakeServer {
  readonly received: ReceivedRequest[] = []
  private readonly handlers = new Map<number, Handler>()
  private readonly sockets = new Set<Socket>()
  private connectionCount = 0
  private waiters: Array<{ predicate: (r: ReceivedRequest) => boolean; resolve: (r: ReceivedRequest) => void }> = []

  private constructor(
    private readonly server: Server,
    private readonly options: FakeServerOptions,
  ) {}

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const server = createServer()
    const fake = new FakeServer(server, options)
    server.on('connection', (socket) => fake.accept(socket))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return fake
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  get host(): string {
    return '127.0.0.1'
  }

  /** Connections accepted so far. */
  get connections(): number {
    return this.connectionCount
  }

  on<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, handler: (request: ReceivedRequest & { body: Req }) => ResInit | HandlerResult | Promise<ResInit | HandlerResult>): void {
    this.handlers.set(api.apiKey, handler as Handler)
  }

  /** Resolves with the first request (already received or future) that matches, or rejects after `timeoutMs`. */
  waitFor(predicate: (request: ReceivedRequest) => boolean, timeoutMs = 5000): Promise<ReceivedRequest> {
    const seen = this.received.find(predicate)
    if (seen !== undefined) return Promise.resolve(seen)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching request within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        predicate,
        resolve: (r) => {
          clearTimeout(timer)
          resolve(r)
        },
      })
    })
  }

  /** Destroys every open connection (the server keeps listening). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  async close(): Promise<void> {
    this.dropConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(socket: Socket): void {
    const id = ++this.connectionCount
    this.sockets.add(socket)
    socket.on('close', () => this.sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    const decoder = new FrameDecoder()
    let chain = Promise.resolve()
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[]
      try {
        frames = decoder.push(chunk)
      } catch {
        socket.destroy()
        return
      }
      for (const frame of frames) {
        // Requests are recorded as they arrive, so a test sees pipelining; answers go out in order.
        let parsed: { request: ReceivedRequest; api: ApiSpec }
        try {
          parsed = this.parse(frame, id)
        } catch {
          socket.destroy()
          return
        }
        chain = chain.then(() => this.respond(socket, parsed)).catch(() => {
          socket.destroy()
        })
      }
    })
  }

  private parse(frame: Buffer, connection: number): { request: ReceivedRequest; api: ApiSpec } {
    const { header, api, body } = decodeRequestHeader(frame)
    if (api === undefined) throw new Error(`unknown api key ${header.requestApiKey}`)
    const version = header.requestApiVersion
    const decoded = api.apiKey === ApiVersions.apiKey ? {} : decodeRequestBody(api, version, body)
    const request: ReceivedRequest = {
      apiKey: api.apiKey,
      apiName: api.name,
      version,
      correlationId: header.correlationId,
      clientId: header.clientId,
      body: decoded,
      connection,
    }
    if (api.apiKey !== ApiVersions.apiKey) {
      this.received.push(request)
      this.waiters = this.waiters.filter((w) => {
        if (!w.predicate(request)) return true
        w.resolve(request)
        return false
      })
    }
    return { request, api }
  }

  private async respond(socket: Socket, { request, api }: { request: ReceivedRequest; api: ApiSpec }): Promise<void> {
    if (socket.destroyed) return
    if (api.apiKey === ApiVersions.apiKey) {
      socket.write(this.apiVersions(request.version, request.correlationId))
      return
    }
    const handler = this.handlers.get(api.apiKey)
    if (handler === undefined) throw new Error(`no handler for ${api.name}`)
    const result = await handler(request)
    if (result === HANG || result === NO_RESPONSE) return
    if (result === CLOSE) {
      socket.destroy()
      return
    }
    if (socket.destroyed) return
    const frame = encodeResponse(api, request.version, request.correlationId, result)
    const extra = this.options.trailingBytes ?? 0
    if (extra === 0) {
      socket.write(frame)
      return
    }
    const padded = Buffer.concat([frame, Buffer.alloc(extra)])
    padded.writeInt32BE(padded.length - 4, 0)
    socket.write(padded)
  }

  private apiVersions(version: number, correlationId: number): Buffer {
    const limit = this.options.maxApiVersionsVersion ?? ApiVersions.maxVersion
    const ranges = this.options.versions ?? CLIENT_VERSIONS
    const apiKeys = [...ranges].map(([apiKey, range]) => ({
      apiKey,
      minVersion: range.min,
      maxVersion: apiKey === ApiVersions.apiKey ? Math.min(range.max, limit) : range.max,
    }))
    if (version > limit && this.options.garbledUnsupportedApiVersions === true) {
      // Error 35, a one-byte count, one entry, a tag byte, the throttle time: no version reads this.
      const body = Buffer.from([0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, limit, 0x00, 0x00, 0x00, 0x00, 0x00])
      const frame = Buffer.alloc(8)
      frame.writeInt32BE(4 + body.length, 0)
      frame.writeInt32BE(correlationId, 4)
      return Buffer.concat([frame, body])
    }
    if (version > limit) return encodeResponse(ApiVersions, 0, correlationId, { errorCode: 35, apiKeys })
    return encodeResponse(ApiVersions, version, correlationId, { errorCode: 0, apiKeys })
  }
}

/** The spec for an api key, for tests that build requests by key. */
export function specOf(apiKey: number): ApiSpec {
  const spec = apiSpecByKey(apiKey)
  if (spec === undefined) throw new Error(`unknown api key ${apiKey}`)
  return spec
}
