/**
 * A TCP server skeleton for the Kafka protocol: accepts connections, splits each byte stream into
 * frames and hands every frame to a handler.
 *
 * Ordering follows Kafka's socket server: a connection's requests are handled one at a time, in the
 * order they arrived, and their responses are written in that order (Kafka mutes a channel while a
 * request is in flight). Different connections never wait for each other, so a client that connects
 * and sends nothing, or stalls mid-frame, costs only its own socket.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TLSSocket, type TlsOptions } from 'node:tls'
import { BatonError } from '../protocol/errors/base.js'
import type { Logger } from './logger.js'
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, FrameTooLargeError } from './frame-decoder.js'
import { RequestMemoryPool } from './request-memory.js'

/** What a handler learns about the connection a frame came from. */
export interface ConnectionInfo {
  readonly id: number
  /** `host:port` of the peer, for log lines. */
  readonly remote: string
  /** The peer's IP address (IPv4-mapped IPv6 addresses in their IPv4 form). */
  readonly remoteAddress: string
  /** Ends the connection once the response to the request being handled is written (Kafka does this after a failed authentication). */
  closeAfterResponse(): void
}

/**
 * Handles one request frame (without its size prefix). Returns the whole response frame, size prefix
 * included, either in one buffer or in consecutive pieces written together (so large byte fields
 * need not be copied into one), or null when the request takes no response (Produce with acks=0).
 * Throwing closes the connection: use it only when the bytes cannot be answered at all.
 */
export type FrameResponse = Buffer | readonly Buffer[]
export type FrameHandler = (frame: Buffer, connection: ConnectionInfo) => FrameResponse | null | Promise<FrameResponse | null>

/** The server logs through the one logger interface; the name stays for its callers. */
export type ServerLogger = Logger

export interface KafkaServerOptions {
  handler: FrameHandler
  logger: ServerLogger
  /** Largest request frame accepted; Kafka's socket.request.max.bytes, 100 MiB by default. */
  maxFrameBytes?: number
  /**
   * Closes a connection that completes no request for this long while none of its requests is being
   * handled: silent ones, and ones that stall or trickle mid-request. Kafka's connections.max.idle.ms
   * (10 min). 0 disables.
   */
  idleTimeoutMs?: number
  /** Bytes of requests being received, shared by every server of a broker (queued.max.request.bytes); unbounded when absent. */
  memoryPool?: RequestMemoryPool
  /** Extra fields on every log line (e.g. the node id). */
  logFields?: object
  /**
   * Serve TLS instead of plain TCP (node:tls server options: key, cert, and for mutual TLS ca with
   * requestCert and rejectUnauthorized). A failed handshake costs only that connection, with a log line.
   */
  tls?: TlsOptions
}

/** Why a connection was closed by the server; carried in the log line. */
export class ConnectionClosedError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONNECTION_CLOSED', message, options)
  }
}

const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000
const EMPTY = Buffer.alloc(0)
/** Requests queued on one connection before the server stops reading from it, and where it resumes. */
const PAUSE_READING_AT = 64
const RESUME_READING_AT = 16

export class KafkaServer {
  /** The current listener; replaced on resumeAccepting, since a closed net.Server waits for its connections. */
  private server: Server | null = null
  private readonly sockets = new Set<Socket>()
  private readonly options: Required<Omit<KafkaServerOptions, 'tls'>> & Pick<KafkaServerOptions, 'tls'>
  private nextConnectionId = 1
  private boundPort = 0
  private boundHost = ''
  private closed = false

  constructor(options: KafkaServerOptions) {
    this.options = {
      maxFrameBytes: DEFAULT_MAX_FRAME_BYTES,
      idleTimeoutMs: DEFAULT_IDLE_TIMEOUT_MS,
      logFields: {},
      memoryPool: new RequestMemoryPool(0),
      ...options,
    }
  }

  /** Starts listening; port 0 picks an ephemeral port. Resolves with the bound port. */
  async listen(port: number, host: string): Promise<number> {
    const tls = this.options.tls
    const server: Server = tls === undefined ? createServer((socket) => this.accept(socket)) : createTlsServer(tls, (socket) => this.accept(socket))
    if (tls !== undefined) {
      server.on('tlsClientError', (error: Error, socket: TLSSocket) => {
        this.options.logger.info(
          { ...this.options.logFields, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`, err: error.message },
          'TLS handshake failed; the client must trust this broker\'s certificate (and present one signed by its CA when mutual TLS is on)',
        )
      })
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen({ port, host, exclusive: true }, () => {
        server.off('error', reject)
        resolve()
      })
    })
    // A failing accept (EMFILE and the like) must not take the process down.
    server.on('error', (error) => this.options.logger.error({ ...this.options.logFields, err: error.message }, 'listener error'))
    this.server = server
    this.boundPort = (server.address() as AddressInfo).port
    this.boundHost = host
    return this.boundPort
  }

  get port(): number {
    return this.boundPort
  }

  get accepting(): boolean {
    return this.server !== null
  }

  get connectionCount(): number {
    return this.sockets.size
  }

  /**
   * Stops accepting new connections; open connections keep being served. Resolves once the port is
   * released (a closed net.Server only reports 'close' after its last connection, so that is not awaited).
   */
  async stopAccepting(): Promise<void> {
    const server = this.server
    if (server === null) return
    this.server = null
    server.close()
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  /** Accepts connections again, on the port bound first so that clients' bootstrap lists stay valid. */
  async resumeAccepting(): Promise<void> {
    if (this.server !== null || this.closed) return
    await this.listen(this.boundPort, this.boundHost)
  }

  /** Drops every open connection at once, as a crashed or partitioned broker would. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy()
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.stopAccepting()
    for (const socket of this.sockets) socket.destroy()
  }

  private accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy()
      return
    }
    const remoteAddress = (socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    let closeRequested = false
    const connection: ConnectionInfo = {
      id: this.nextConnectionId++,
      remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
      remoteAddress,
      closeAfterResponse: () => {
        closeRequested = true
      },
    }
    const fields = { ...this.options.logFields, connection: connection.id, remote: connection.remote }
    const logger = this.options.logger
    const pool = this.options.memoryPool
    // Bytes this connection has reserved: frames being received, queued or handled.
    let held = 0
    const decoder = new FrameDecoder(this.options.maxFrameBytes, (size) => {
      if (!pool.tryReserve(size)) return false
      held += size
      return true
    })
    const release = (bytes: number): void => {
      held -= bytes
      pool.release(bytes)
    }
    let cancelMemoryWait: (() => void) | undefined
    this.sockets.add(socket)
    socket.setNoDelay(true)

    // Frames wait here while an earlier one of the same connection is being handled.
    const queue: Buffer[] = []
    let busy = false
    let dead = false
    // Reading stops while too many requests wait, and while the next one waits for memory.
    let queueFull = false
    const updateReading = (): void => {
      if (dead) return
      const stop = queueFull || cancelMemoryWait !== undefined
      if (stop && !socket.isPaused()) socket.pause()
      else if (!stop && socket.isPaused()) socket.resume()
    }

    // The idle clock restarts whenever a request completes or its handling ends; it never
    // closes a connection whose request is being handled (a long poll, a parked JoinGroup).
    const idleMs = this.options.idleTimeoutMs
    const idle = idleMs > 0
      ? setTimeout(function onIdle(this: void) {
          if (busy) {
            idle?.refresh()
            return
          }
          close(`no complete request in ${idleMs} ms (connections.max.idle.ms)`)
        }, idleMs)
      : undefined
    idle?.unref()
    const touch = (): void => void idle?.refresh()

    const close = (reason: string, error?: unknown): void => {
      if (dead) return
      dead = true
      const detail =
        error instanceof Error
          ? {
              err: error.message,
              code: error instanceof BatonError ? error.code : undefined,
              cause: error.cause instanceof Error ? error.cause.message : undefined,
            }
          : {}
      logger.warn({ ...fields, ...detail }, `closing connection: ${reason}`)
      socket.destroy()
    }

    // Backpressure both ways, so one client cannot make the broker buffer without bound: stop
    // reading while many requests wait (Kafka mutes the channel), and stop handling while the
    // client does not read its responses.
    const drain = async (): Promise<void> => {
      busy = true
      while (queue.length > 0 && !dead) {
        const frame = queue.shift()!
        if (queueFull && queue.length <= RESUME_READING_AT) {
          queueFull = false
          updateReading()
        }
        let response: FrameResponse | null
        try {
          response = await this.options.handler(frame, connection)
        } catch (error) {
          close('request could not be handled', error)
          return
        } finally {
          if (!dead) release(frame.length)
          touch()
        }
        if (closeRequested) {
          dead = true
          logger.info(fields, 'closing connection after its response, as Kafka does')
          if (response !== null && !socket.destroyed) {
            writeResponse(socket, response)
            socket.end()
          } else socket.destroy()
          return
        }
        if (response === null || dead || socket.destroyed) continue
        if (!writeResponse(socket, response)) await writable(socket)
      }
      busy = false
    }

    const receive = (chunk: Buffer): void => {
      if (dead) return
      let frames: Buffer[]
      try {
        frames = decoder.push(chunk)
      } catch (error) {
        close(error instanceof FrameTooLargeError ? 'frame size out of bounds' : 'unreadable frame', error)
        return
      }
      if (decoder.waitingForReservation && cancelMemoryWait === undefined) {
        cancelMemoryWait = pool.whenReleased(() => {
          cancelMemoryWait = undefined
          receive(EMPTY)
          updateReading()
        })
        updateReading()
      }
      if (frames.length === 0) return
      touch()
      queue.push(...frames)
      if (queue.length >= PAUSE_READING_AT) {
        queueFull = true
        updateReading()
      }
      if (!busy) void drain()
    }
    socket.on('data', receive)
    socket.on('error', (error) => logger.debug({ ...fields, err: error.message }, 'socket error'))
    socket.on('close', () => {
      dead = true
      queue.length = 0
      if (idle !== undefined) clearTimeout(idle)
      cancelMemoryWait?.()
      cancelMemoryWait = undefined
      // Everything this connection reserved goes back: the frame being received and any not yet handled.
      pool.release(held)
      held = 0
      this.sockets.delete(socket)
      if (decoder.pendingBytes > 0) logger.debug({ ...fields, pendingBytes: decoder.pendingBytes }, 'peer closed mid-request')
    })
  }
}

/** Writes a response, a piecewise one in one vectored write; false when the socket asks to wait for 'drain'. */
function writeResponse(socket: Socket, response: FrameResponse): boolean {
  if (Buffer.isBuffer(response)) return socket.write(response)
  const pieces = response as readonly Buffer[]
  if (pieces.length === 1) return socket.write(pieces[0]!)
  socket.cork()
  let ok = true
  for (const piece of pieces) ok = socket.write(piece)
  socket.uncork()
  return ok
}

/** Resolves once the socket can take more writes, or is closed. */
function writable(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      socket.off('drain', done)
      socket.off('close', done)
      resolve()
    }
    socket.on('drain', done)
    socket.on('close', done)
  })
}
