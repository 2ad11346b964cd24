/**
 * A connection to the group coordinator for the lab's consumers.
 *
 * Why the lab has its own: the client's `Connection` negotiates versions only for the APIs listed
 * in `src/net/versions.ts`, and while the lab was written that table did not list the group APIs
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit), so the client could not send them.
 * This connection negotiates them itself (ApiVersions v0, then the highest version both sides
 * have, capped at the versions the membership code fills in). Once the client lists those APIs
 * the lab should go back to `Cluster.connectionTo`.
 */
import { connect, type Socket } from 'node:net'
import { FrameDecoder } from '../../net/frame-decoder.js'
import { BatonError } from '../../protocol/errors/base.js'
import type { ApiSpec } from '../../protocol/codec-runtime.js'
import { decodeResponse, encodeRequest, peekCorrelationId } from '../../protocol/frame.js'
import { ApiVersions, Heartbeat, JoinGroup, LeaveGroup, OffsetCommit, OffsetFetch, SyncGroup } from '../../protocol/generated/index.js'

/** The newest version of each group API whose new fields the membership code sets or reads. */
const LAB_MAX_VERSIONS = new Map<number, number>([
  [JoinGroup.apiKey, 9],
  [SyncGroup.apiKey, 5],
  [Heartbeat.apiKey, 4],
  [LeaveGroup.apiKey, 5],
  [OffsetCommit.apiKey, 8],
  [OffsetFetch.apiKey, 7],
])

/** The coordinator connection failed, closed, or shares no version of an API with the broker. */
export class CoordinatorConnectionError extends BatonError {
  /** A dropped connection or a timeout is worth another try (with a fresh connection); a version mismatch is not. */
  readonly retriable: boolean

  constructor(
    code: 'LAB_COORDINATOR_CLOSED' | 'LAB_COORDINATOR_TIMEOUT' | 'LAB_COORDINATOR_VERSION',
    message: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options)
    this.retriable = code !== 'LAB_COORDINATOR_VERSION'
  }
}

interface Pending {
  settle(frame: Buffer | Error): void
}

export class CoordinatorConnection {
  private readonly decoder = new FrameDecoder()
  private readonly pending = new Map<number, Pending>()
  private versions = new Map<number, { min: number; max: number }>()
  private nextCorrelationId = 1
  private closed = false

  private constructor(
    private readonly socket: Socket,
    private readonly clientId: string,
    readonly label: string,
  ) {
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[]
      try {
        frames = this.decoder.push(chunk)
      } catch (error) {
        this.fail(new CoordinatorConnectionError('LAB_COORDINATOR_CLOSED', `${label} sent a frame that cannot be read`, { cause: error }))
        return
      }
      for (const frame of frames) {
        const id = peekCorrelationId(frame)
        const waiter = this.pending.get(id)
        this.pending.delete(id)
        waiter?.settle(frame)
      }
    })
    socket.on('error', () => undefined)
    socket.on('close', () => this.fail(new CoordinatorConnectionError('LAB_COORDINATOR_CLOSED', `the connection to ${label} closed`)))
  }

  static async open(host: string, port: number, clientId: string, timeoutMs: number): Promise<CoordinatorConnection> {
    const socket = connect({ host, port })
    const label = `coordinator ${host}:${port}`
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new CoordinatorConnectionError('LAB_COORDINATOR_TIMEOUT', `could not connect to ${label} within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('connect', () => {
        clearTimeout(timer)
        resolve()
      })
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(new CoordinatorConnectionError('LAB_COORDINATOR_CLOSED', `could not connect to ${label}`, { cause: error }))
      })
    })
    socket.setNoDelay(true)
    const connection = new CoordinatorConnection(socket, clientId, label)
    // v0 is understood by every broker (KIP-35); the answer lists what the broker supports.
    const answer = await connection.send(ApiVersions, 0, {}, timeoutMs)
    connection.versions = new Map(answer.apiKeys.map((k) => [k.apiKey, { min: k.minVersion, max: k.maxVersion }]))
    return connection
  }

  get isClosed(): boolean {
    return this.closed
  }

  /** Sends a group API request at the highest version both sides support. */
  request<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, body: (version: number) => ReqInit, timeoutMs: number): Promise<Res> {
    const theirs = this.versions.get(api.apiKey)
    const ours = LAB_MAX_VERSIONS.get(api.apiKey)
    const version = Math.min(theirs?.max ?? -1, ours ?? -1, api.maxVersion)
    if (theirs === undefined || ours === undefined || version < Math.max(theirs.min, api.minVersion)) {
      return Promise.reject(new CoordinatorConnectionError('LAB_COORDINATOR_VERSION', `${this.label} and the lab share no version of ${api.name}`))
    }
    return this.send(api, version, body(version), timeoutMs)
  }

  close(): void {
    this.closed = true
    this.socket.destroy()
  }

  private send<Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, version: number, body: ReqInit, timeoutMs: number): Promise<Res> {
    if (this.closed) return Promise.reject(new CoordinatorConnectionError('LAB_COORDINATOR_CLOSED', `the connection to ${this.label} is closed`))
    const correlationId = this.nextCorrelationId++
    return new Promise<Res>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlationId)
        reject(new CoordinatorConnectionError('LAB_COORDINATOR_TIMEOUT', `${api.name} to ${this.label} got no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(correlationId, {
        settle: (frame) => {
          clearTimeout(timer)
          if (frame instanceof Error) {
            reject(frame)
            return
          }
          try {
            resolve(decodeResponse(api, version, frame).body)
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)))
          }
        },
      })
      this.socket.write(encodeRequest(api, version, { correlationId, clientId: this.clientId }, body))
    })
  }

  private fail(error: CoordinatorConnectionError): void {
    this.closed = true
    for (const waiter of this.pending.values()) waiter.settle(error)
    this.pending.clear()
    this.socket.destroy()
  }
}
