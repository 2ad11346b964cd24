/**
 * One connection to one broker: framing, correlation ids, pipelined requests up to a cap, request
 * timeouts, ApiVersions negotiation (KIP-35, KIP-511) and SASL (KIP-43, KIP-152) on connect, and
 * reconnection with exponential backoff after the connection drops.
 *
 * The connection opens lazily on the first request. When it drops, every request on it fails with a
 * retriable `NetworkError`; the next request reconnects, after a backoff delay that grows with each
 * consecutive failure. A request that times out closes the connection, as Kafka's clients do: the
 * broker answers in order, so a response that never comes blocks every later one.
 */
import { isIP, connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect } from 'node:tls'
import type { ApiSpec } from '../protocol/codec-runtime.js'
import { DecodeError } from '../protocol/errors/base.js'
import { encodeRequest, encodeRequestChunks, peekCorrelationId, responseHeaderVersion } from '../protocol/frame.js'
import { ApiVersions } from '../protocol/generated/index.js'
import { ResponseHeaderCodec } from '../protocol/generated/response-header.js'
import { Reader } from '../protocol/primitives/reader.js'
import { backoffDelay } from './backoff.js'
import { validateConnectionOptions, type ConnectionOptions, type RequestOptions } from './connection-options.js'
import { connectionChannel, requestChannel, responseChannel, type ConnectionEvent, type RequestEvent, type ResponseEvent } from './diagnostics.js'
import { NetworkError, UnsupportedVersionError, type NetworkErrorCode } from './errors.js'
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './frame-decoder.js'
import { authenticate, negotiateApiVersions, type HandshakeSend } from './handshake.js'
import { negotiateVersion, type BrokerVersions } from './versions.js'

export type { ConnectionOptions, RequestOptions } from './connection-options.js'

/** A request body, or a function that builds it for the negotiated version. */
export type RequestBody<ReqInit> = ReqInit | ((version: number) => ReqInit)

interface Pending {
  readonly api: ApiSpec
  readonly version: number
  readonly correlationId: number
  /** The request's bytes, in pieces when large byte fields were not copied into it. */
  readonly frame: Buffer | Buffer[]
  readonly noResponse: boolean
  readonly timeoutMs: number
  readonly resolve: (body: unknown) => void
  readonly reject: (error: Error) => void
  timer: NodeJS.Timeout | undefined
  startedAt: number
}

type State = 'idle' | 'connecting' | 'ready' | 'closed'

const MAX_CORRELATION_ID = 0x7fffffff

export class Connection {
  readonly host: string
  readonly port: number
  readonly nodeId: number | undefined
  /** `host:port`, or `node N (host:port)` once the node id is known: what error messages name. */
  readonly label: string
  private readonly options: ConnectionOptions
  private readonly requestTimeoutMs: number
  private readonly maxInFlight: number
  private state: State = 'idle'
  private socket: Socket | null = null
  private reauthTimer: NodeJS.Timeout | undefined
  private connecting: Promise<void> | null = null
  private nextCorrelationId = 0
  private readonly inFlight = new Map<number, Pending>()
  private readonly queue: Pending[] = []
  private versions: BrokerVersions | null = null
  private readonly negotiated = new Map<number, number>()
  private failures = 0
  private lastFailureAt = 0

  constructor(options: ConnectionOptions) {
    validateConnectionOptions(options)
    this.options = options
    this.host = options.host
    this.port = options.port
    this.nodeId = options.nodeId
    this.label = options.nodeId === undefined ? `${options.host}:${options.port}` : `node ${options.nodeId} (${options.host}:${options.port})`
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000
    this.maxInFlight = options.maxInFlightRequests ?? 5
  }

  /** Whether the socket is open, negotiated and authenticated. */
  get ready(): boolean {
    return this.state === 'ready'
  }

  get closed(): boolean {
    return this.state === 'closed'
  }

  /** Requests written and awaiting a response, plus those queued behind the in-flight cap. */
  get pendingRequests(): number {
    return this.inFlight.size + this.queue.length
  }

  /** What the broker said it supports, once connected. */
  get brokerVersions(): BrokerVersions | null {
    return this.versions
  }

  /** Opens the connection if it is not open; resolves once negotiated and authenticated. */
  async connect(): Promise<void> {
    if (this.state === 'ready') return
    if (this.state === 'closed') throw this.error('NET_CLOSED', 'the connection was closed')
    this.connecting ??= this.open().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  /**
   * The version this connection uses for `api`: the highest both sides support.
   * @throws UnsupportedVersionError when there is none; NetworkError before the connection is ready.
   */
  versionFor(api: ApiSpec): number {
    const cached = this.negotiated.get(api.apiKey)
    if (cached !== undefined) return cached
    if (this.versions === null) throw this.error('NET_CLOSED', `${api.name} version asked before the connection negotiated versions`)
    const result = negotiateVersion(api, this.versions, this.options.maxApiVersions?.[api.name])
    if (!result.ok) throw new UnsupportedVersionError(api.name, this.label, result.reason)
    this.negotiated.set(api.apiKey, result.version)
    return result.version
  }

  /** Whether the broker and baton share a version of `api` (false before the connection is ready). */
  supports(api: ApiSpec, minVersion = 0): boolean {
    if (this.versions === null) return false
    const result = negotiateVersion(api, this.versions, this.options.maxApiVersions?.[api.name])
    return result.ok && result.version >= minVersion
  }

  /**
   * Sends a request and resolves with the decoded response body. Connects first if needed.
   * Rejects with NetworkError (connection failed, dropped, timed out or closed),
   * UnsupportedVersionError, or DecodeError for a response that cannot be read. Error codes inside the
   * response are the caller's to check.
   */
  async request<Req, ReqInit, Res, ResInit>(
    api: ApiSpec<Req, ReqInit, Res, ResInit>,
    body: RequestBody<ReqInit>,
    options: RequestOptions = {},
  ): Promise<Res> {
    await this.connect()
    const version = this.versionFor(api)
    const init = typeof body === 'function' ? (body as (version: number) => ReqInit)(version) : body
    return this.enqueue(api, version, init, options)
  }

  /** Closes the socket; pending and later requests fail with a `NET_CLOSED` NetworkError. */
  async close(): Promise<void> {
    if (this.state === 'closed') return
    this.state = 'closed'
    const socket = this.socket
    this.failAll('NET_CLOSED', 'the connection was closed by the client')
    if (socket !== null && !socket.destroyed) {
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      socket.destroy()
      await closed
    }
    this.socket = null
  }

  private async open(): Promise<void> {
    const wait = this.failures === 0 ? 0 : backoffDelay(this.failures, this.backoffOptions()) - (Date.now() - this.lastFailureAt)
    if (wait > 0) await delay(wait)
    if (this.state === 'closed') throw this.error('NET_CLOSED', 'the connection was closed while reconnecting')
    this.state = 'connecting'
    try {
      this.socket = await this.dial()
      await this.handshake()
      if (this.state !== 'connecting') throw this.error('NET_CLOSED', 'the connection was closed while connecting')
      this.state = 'ready'
      this.failures = 0
      this.publishConnection('ready', undefined)
    } catch (error) {
      if (this.state === 'connecting') {
        this.state = 'idle'
        this.failures++
        this.lastFailureAt = Date.now()
      }
      const socket = this.socket
      this.socket = null
      socket?.destroy()
      const failure = error instanceof Error ? error : new Error(String(error))
      this.publishConnection('failed', failure)
      throw failure
    }
  }

  private backoffOptions() {
    return {
      initialMs: this.options.reconnectBackoffMs ?? 50,
      maxMs: this.options.reconnectBackoffMaxMs ?? 1000,
      ...(this.options.random === undefined ? {} : { random: this.options.random }),
    }
  }

  private dial(): Promise<Socket> {
    const timeoutMs = this.options.connectTimeoutMs ?? 10_000
    return new Promise<Socket>((resolve, reject) => {
      const tlsOption = this.options.tls
      const useTls = tlsOption !== undefined && tlsOption !== false
      const reader = new ResponseReader(this.options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES)
      const socket: Socket = useTls
        ? // SNI takes host names only (RFC 6066); an IP address is still checked against the certificate.
          tlsConnect({ host: this.host, port: this.port, ...(isIP(this.host) === 0 ? { servername: this.host } : {}), ...(tlsOption === true ? {} : tlsOption) })
        : netConnect({ host: this.host, port: this.port, onread: { buffer: () => reader.target(), callback: (size, into) => reader.read(size, into) } })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(this.error('NET_CONNECT_TIMEOUT', `could not connect within ${timeoutMs} ms; check the address and that the broker is up`))
      }, timeoutMs)
      const onError = (error: Error): void => {
        clearTimeout(timer)
        socket.destroy()
        const tlsProblem = useTls ? tlsFailure(error) : null
        reject(tlsProblem !== null ? this.error('NET_TLS_FAILED', tlsProblem, error) : this.error('NET_CONNECT_FAILED', `could not connect: ${error.message}`, error))
      }
      socket.once('error', onError)
      socket.once(useTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer)
        socket.off('error', onError)
        socket.setNoDelay(true)
        this.attach(socket, reader)
        resolve(socket)
      })
    })
  }

  private attach(socket: Socket, reader: ResponseReader): void {
    let failure: { code: NetworkErrorCode; message: string; cause: unknown } | undefined
    reader.onFrame = (frame) => this.onFrame(socket, frame)
    reader.onCorrupt = (error) => this.destroyWith(socket, 'NET_PROTOCOL', 'the response stream is corrupt', error)
    // TLS sockets decrypt into chunks of their own: their data comes as events.
    if ('encrypted' in socket) socket.on('data', (chunk: Buffer) => reader.push(chunk))
    socket.on('error', (error) => {
      // With TLS 1.3 the broker checks a client certificate after the client's handshake is done,
      // so a refusal (mutual TLS) arrives as an alert on the open socket.
      const tlsProblem = 'encrypted' in socket ? tlsFailure(error) : null
      failure ??= tlsProblem !== null ? { code: 'NET_TLS_FAILED', message: tlsProblem, cause: error } : { code: 'NET_CONNECTION_LOST', message: `connection failed: ${error.message}`, cause: error }
    })
    socket.on('close', () => {
      const { code, message, cause } = failure ?? { code: 'NET_CONNECTION_LOST' as const, message: 'the broker closed the connection', cause: undefined }
      this.destroyWith(socket, code, message, cause)
    })
  }

  private onFrame(socket: Socket, frame: Buffer): void {
    let correlationId: number
    try {
      correlationId = peekCorrelationId(frame)
    } catch (error) {
      this.destroyWith(socket, 'NET_PROTOCOL', 'a response frame is too short for a header', error)
      return
    }
    const pending = this.inFlight.get(correlationId)
    if (pending === undefined) {
      this.destroyWith(socket, 'NET_PROTOCOL', `response with correlation id ${correlationId} matches no request`)
      return
    }
    this.inFlight.delete(correlationId)
    clearTimeout(pending.timer)
    let body: unknown
    try {
      body = this.decode(pending, frame)
    } catch (error) {
      this.settle(pending, error instanceof Error ? error : new Error(String(error)), frame.length)
      this.pump()
      return
    }
    this.settle(pending, undefined, frame.length, body)
    this.pump()
  }

  private decode(pending: Pending, frame: Buffer): unknown {
    if (pending.api.apiKey !== ApiVersions.apiKey) return decodeResponseBody(pending.api, pending.version, frame)
    try {
      return decodeResponseBody(ApiVersions, pending.version, frame)
    } catch (error) {
      // A broker that lacks our ApiVersions version answers in v0 with UNSUPPORTED_VERSION (KIP-511).
      if (!(error instanceof DecodeError)) throw error
      return decodeResponseBody(ApiVersions, 0, frame)
    }
  }

  /**
   * Forgets the socket at once (so the next request reconnects instead of writing to a dying
   * socket), fails what it carried, and counts the failure for the reconnect backoff.
   */
  private destroyWith(socket: Socket, code: NetworkErrorCode, message: string, cause?: unknown): void {
    socket.destroy()
    if (this.socket !== socket) return
    this.socket = null
    this.failAll(code, message, cause)
    if (this.state === 'closed') return
    const wasReady = this.state === 'ready'
    this.state = 'idle'
    this.failures++
    this.lastFailureAt = Date.now()
    if (wasReady) this.publishConnection('closed', this.error(code, message, cause))
  }

  private async handshake(): Promise<void> {
    this.negotiated.clear()
    this.versions = null
    const send: HandshakeSend = (api, version, body) => this.enqueue(api, version, body, {})
    const versions = await negotiateApiVersions(send, this.label)
    this.versions = versions
    if (this.options.sasl !== undefined) this.scheduleReauthentication(await authenticate(send, versions, this.label, this.options.sasl))
  }

  /**
   * KIP-368: a broker that reported a session lifetime closes the connection once it ends, so
   * authenticate again on the same connection before that, at 85-95% of it as Kafka's clients do.
   * Requests keep flowing meanwhile; the broker answers them in order around the exchange.
   */
  private scheduleReauthentication(lifetimeMs: number): void {
    clearTimeout(this.reauthTimer)
    const sasl = this.options.sasl
    const socket = this.socket
    if (lifetimeMs <= 0 || sasl === undefined || socket === null) return
    const random = this.options.random ?? Math.random
    this.reauthTimer = setTimeout(() => {
      if (this.socket !== socket || this.versions === null) return
      const send: HandshakeSend = (api, version, body) => this.enqueue(api, version, body, {})
      authenticate(send, this.versions, this.label, sasl).then(
        (next) => this.scheduleReauthentication(next),
        (error: unknown) => this.destroyWith(socket, 'NET_CONNECTION_LOST', 're-authentication failed; the connection will authenticate anew', error),
      )
    }, lifetimeMs * (0.85 + 0.1 * random()))
    this.reauthTimer.unref()
    socket.once('close', () => clearTimeout(this.reauthTimer))
  }

  private enqueue<Req, ReqInit, Res, ResInit>(
    api: ApiSpec<Req, ReqInit, Res, ResInit>,
    version: number,
    body: ReqInit,
    options: RequestOptions,
  ): Promise<Res> {
    if (this.socket === null) return Promise.reject(this.error('NET_CONNECTION_LOST', 'the connection dropped before the request was sent', undefined, api.name))
    const correlationId = this.nextCorrelationId
    this.nextCorrelationId = this.nextCorrelationId === MAX_CORRELATION_ID ? 0 : this.nextCorrelationId + 1
    let frame: Buffer | Buffer[]
    try {
      const header = { correlationId, clientId: this.options.clientId ?? 'baton' }
      frame = options.shareBytesFrom === undefined ? encodeRequest(api, version, header, body, options.sizeHint) : encodeRequestChunks(api, version, header, body, { sizeHint: options.sizeHint, shareFrom: options.shareBytesFrom })
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)))
    }
    return new Promise<Res>((resolve, reject) => {
      const pending: Pending = {
        api: api,
        version,
        correlationId,
        frame,
        noResponse: options.noResponse === true,
        timeoutMs: options.timeoutMs ?? this.requestTimeoutMs,
        resolve: resolve as (body: unknown) => void,
        reject,
        timer: undefined,
        startedAt: 0,
      }
      this.queue.push(pending)
      this.pump()
    })
  }

  /** Writes queued requests while the in-flight cap allows. */
  private pump(): void {
    const socket = this.socket
    if (socket === null) return
    while (this.queue.length > 0 && this.inFlight.size < this.maxInFlight) {
      const pending = this.queue.shift()!
      pending.startedAt = performance.now()
      if (requestChannel.hasSubscribers) requestChannel.publish(this.requestEvent(pending))
      const frame = pending.frame
      if (Array.isArray(frame)) {
        // Corked, the pieces leave in one vectored write.
        socket.cork()
        for (const piece of frame) socket.write(piece)
        socket.uncork()
      } else socket.write(frame)
      if (pending.noResponse) {
        this.settle(pending, undefined, 0)
        continue
      }
      this.inFlight.set(pending.correlationId, pending)
      pending.timer = setTimeout(() => this.onTimeout(socket, pending), pending.timeoutMs)
    }
  }

  private onTimeout(socket: Socket, pending: Pending): void {
    if (!this.inFlight.has(pending.correlationId)) return
    this.inFlight.delete(pending.correlationId)
    this.settle(pending, this.error('NET_REQUEST_TIMEOUT', `no response within ${pending.timeoutMs} ms; the connection is closed and will reopen`, undefined, pending.api.name), 0)
    // Responses come in request order, so the ones behind a lost response would never arrive either.
    this.destroyWith(socket, 'NET_CONNECTION_LOST', `closed after ${pending.api.name} timed out`)
  }

  private settle(pending: Pending, error: Error | undefined, responseBytes: number, body?: unknown): void {
    clearTimeout(pending.timer)
    if (responseChannel.hasSubscribers) {
      const event: ResponseEvent = {
        ...this.requestEvent(pending),
        durationMs: pending.startedAt === 0 ? 0 : performance.now() - pending.startedAt,
        responseBytes,
        error,
      }
      responseChannel.publish(event)
    }
    if (error === undefined) pending.resolve(body)
    else pending.reject(error)
  }

  /** Fails every pending request with its own error, so each names the API it was carrying. */
  private failAll(code: NetworkErrorCode, message: string, cause?: unknown): void {
    const pending = [...this.inFlight.values(), ...this.queue]
    this.inFlight.clear()
    this.queue.length = 0
    for (const p of pending) this.settle(p, this.error(code, message, cause, p.api.name), 0)
  }

  private requestEvent(pending: Pending): RequestEvent {
    return {
      broker: this.label,
      apiKey: pending.api.apiKey,
      apiName: pending.api.name,
      apiVersion: pending.version,
      correlationId: pending.correlationId,
      bytes: Array.isArray(pending.frame) ? pending.frame.reduce((sum, piece) => sum + piece.length, 0) : pending.frame.length,
    }
  }

  private publishConnection(state: ConnectionEvent['state'], error: Error | undefined): void {
    if (connectionChannel.hasSubscribers) connectionChannel.publish({ broker: this.label, state, error } satisfies ConnectionEvent)
  }

  private error(code: NetworkErrorCode, message: string, cause?: unknown, api?: string): NetworkError {
    return new NetworkError(code, { broker: this.label, ...(api === undefined ? {} : { api }) }, message, cause === undefined ? undefined : { cause })
  }
}

/**
 * Decodes a response body, ignoring bytes after it. Kafka's own clients read responses this way, and
 * some brokers (librdkafka's mock cluster) append a stray byte to flexible responses, or send a
 * null for non-nullable bytes beside an error code; failing on either would make such a broker
 * unusable for no gain.
 */
function decodeResponseBody(api: ApiSpec, version: number, frame: Buffer): unknown {
  const reader = new Reader(frame)
  reader.nullBytesAsEmpty = true
  ResponseHeaderCodec.decode(reader, responseHeaderVersion(api, version))
  return api.response.decode(reader, version)
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Node's codes for a certificate the client does not trust or cannot match to the host. */
const UNTRUSTED = /^(UNABLE_TO_|SELF_SIGNED_|DEPTH_ZERO_SELF_SIGNED|CERT_|ERR_TLS_CERT_ALTNAME)/

/** A TLS handshake failure explained with what to do, or null for an error that is not about TLS. */
function tlsFailure(error: Error): string | null {
  const code = (error as NodeJS.ErrnoException).code ?? ''
  if (UNTRUSTED.test(code)) {
    return `TLS handshake failed: the broker's certificate is not trusted (${code}: ${error.message}); give the CA that signed it as tls.ca (--tls-ca), or check the broker's address matches its certificate`
  }
  if (code.startsWith('ERR_SSL_') || /alert|handshake/i.test(error.message)) {
    return `TLS handshake failed (${code || error.message}); if the broker requires client certificates (mutual TLS), give tls.cert and tls.key (--tls-cert, --tls-key) signed by a CA it trusts`
  }
  return null
}

/** What a plain socket reads into between frames; the size of Node's own reads. */
const SCRATCH_BYTES = 64 * 1024

/**
 * The response side of a connection: bytes to frames. A plain socket reads into the buffers this
 * hands it (net's `onread`): the rest of a frame spanning reads goes straight into that frame's
 * own buffer, and anything else into one scratch buffer, copied out (small: headers and small
 * responses). A 4 MiB fetch response so costs the kernel's copy only, instead of that plus a copy
 * out of the chunks a stream allocates for each read.
 */
class ResponseReader {
  private readonly decoder: FrameDecoder
  private scratch: Buffer | null = null
  onFrame: (frame: Buffer) => void = () => undefined
  onCorrupt: (error: unknown) => void = () => undefined

  constructor(maxFrameBytes: number) {
    this.decoder = new FrameDecoder(maxFrameBytes)
  }

  target(): Buffer {
    return this.decoder.readTarget() ?? (this.scratch ??= Buffer.allocUnsafe(SCRATCH_BYTES))
  }

  read(size: number, into: Uint8Array): boolean {
    if (into === this.scratch) {
      this.push(Buffer.from(into.subarray(0, size)))
    } else {
      const frame = this.decoder.received(size)
      if (frame !== null) this.onFrame(frame)
    }
    return true
  }

  push(chunk: Buffer): void {
    let frames: Buffer[]
    try {
      frames = this.decoder.push(chunk)
    } catch (error) {
      this.onCorrupt(error)
      return
    }
    for (const frame of frames) this.onFrame(frame)
  }
}
