/**
 * One broker node: a listener and the request pipeline behind it.
 *
 * The pipeline reads the request header, settles version negotiation (KIP-511 for ApiVersions),
 * decodes the body, applies injected faults, runs the API's handler and encodes the response in the
 * request's version. Bytes that cannot be answered (an unreadable header, an API or version this
 * broker does not serve, a body that does not decode) close that connection only, with one log line:
 * that is what Kafka does, since it cannot know how to frame an answer.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { RequestMemoryPool } from '../net/request-memory.js'
import { KafkaServer, type ConnectionInfo } from '../net/server.js'
import { BatonError } from '../protocol/errors/base.js'
import { KafkaErrorCode } from '../protocol/errors/kafka-errors.js'
import { decodeRequestBody, decodeRequestHeader, encodeResponse, encodeResponseChunks } from '../protocol/frame.js'
import { ApiVersions, SaslAuthenticate, SaslHandshake } from '../protocol/generated/index.js'
import type { NodeEndpoint } from './cluster.js'
import type { Faults, NodeControls } from './faults.js'
import type { BrokerContext, ClientConnection, RequestContext } from './handlers/handler.js'
import { HANDLERS } from './handlers/index.js'
import { ConnectionAuth } from './security/connection-auth.js'
import { SaslRefusal } from './security/sasl-server.js'
import type { TlsOptions } from 'node:tls'

/**
 * Byte fields at least this long (a Fetch response's records, read from the log) go to the socket
 * as pieces of their own rather than copied into the response frame: on a consume of 1 KiB
 * records that copy was a third of the broker's work per fetched byte.
 */
const SHARE_FROM_BYTES = 16 * 1024

/** What a connection may send before it has authenticated (and after its session expired). */
const BEFORE_AUTHENTICATION = new Set([ApiVersions.apiKey, SaslHandshake.apiKey, SaslAuthenticate.apiKey])

/** A request the broker cannot answer; the connection it came on is closed. */
export class UnanswerableRequestError extends BatonError {
  constructor(message: string, options?: ErrorOptions) {
    super('BROKER_UNANSWERABLE_REQUEST', message, options)
  }
}

export class BrokerNode implements NodeControls {
  readonly endpoint: NodeEndpoint
  private readonly server: KafkaServer
  private readonly context: BrokerContext
  private readonly faults: Faults

  /** Per connection: its host and SASL state; dropped with the connection object. */
  private readonly connections = new WeakMap<ConnectionInfo, ClientConnection>()

  /** `memoryPool` is the broker's, shared by every node: the cap is on the process, not per listener. */
  constructor(endpoint: NodeEndpoint, context: BrokerContext, faults: Faults, memoryPool: RequestMemoryPool, tls?: TlsOptions) {
    this.endpoint = endpoint
    this.context = context
    this.faults = faults
    this.server = new KafkaServer({
      handler: (frame, connection) => this.handle(frame, connection),
      logger: context.options.logger,
      maxFrameBytes: context.options.maxRequestBytes,
      idleTimeoutMs: context.options.connectionsMaxIdleMs,
      memoryPool,
      logFields: { node: endpoint.nodeId },
      ...(tls === undefined ? {} : { tls }),
    })
  }

  async listen(port: number): Promise<void> {
    this.endpoint.port = await this.server.listen(port, this.context.options.host)
  }

  get connectionCount(): number {
    return this.server.connectionCount
  }

  stopAccepting(): Promise<void> {
    return this.server.stopAccepting()
  }

  resumeAccepting(): Promise<void> {
    return this.server.resumeAccepting()
  }

  dropConnections(): void {
    this.server.dropConnections()
  }

  close(): Promise<void> {
    return this.server.close()
  }

  /** Answers one request frame (no size prefix) as the listener would, for a connection with no socket. */
  async answer(frame: Buffer, info: ConnectionInfo): Promise<Buffer | null> {
    const response = await this.handle(frame, info)
    return response === null || Buffer.isBuffer(response) ? response : Buffer.concat(response)
  }

  private clientConnection(info: ConnectionInfo): ClientConnection {
    let connection = this.connections.get(info)
    if (connection === undefined) {
      const sasl = this.context.sasl
      connection = {
        clientHost: `/${info.remoteAddress}`,
        auth: sasl === undefined ? null : new ConnectionAuth(sasl),
        closeAfterResponse: () => info.closeAfterResponse(),
      }
      this.connections.set(info, connection)
    }
    return connection
  }

  /** After a v0 SaslHandshake the client's next frame is a bare token; the answer is a bare token too. */
  private rawToken(frame: Buffer, auth: ConnectionAuth): Buffer {
    let challenge: Buffer
    try {
      challenge = auth.step(frame, Date.now()).challenge
    } catch (error) {
      // Kafka answers a failed raw exchange by closing the connection: there is no frame for an error.
      throw new UnanswerableRequestError(`SASL authentication failed: ${error instanceof SaslRefusal ? error.message : String(error)}`, { cause: error })
    }
    const out = Buffer.allocUnsafe(4 + challenge.length)
    out.writeInt32BE(challenge.length, 0)
    challenge.copy(out, 4)
    return out
  }

  private async handle(frame: Buffer, info: ConnectionInfo): Promise<Buffer | readonly Buffer[] | null> {
    const connection = this.clientConnection(info)
    const auth = connection.auth
    if (auth !== null && auth.rawTokens && auth.exchangeUnderWay) return this.rawToken(frame, auth)
    let decoded: ReturnType<typeof decodeRequestHeader>
    try {
      decoded = decodeRequestHeader(frame)
    } catch (error) {
      throw new UnanswerableRequestError('request header does not decode', { cause: error })
    }
    const { header, api, body } = decoded
    const { requestApiKey: apiKey, requestApiVersion: version, correlationId } = header
    const handler = HANDLERS.get(apiKey)
    if (api === undefined || handler === undefined) {
      throw new UnanswerableRequestError(`api key ${apiKey}${api === undefined ? '' : ` (${api.name})`} is not served by this broker; ApiVersions lists what is`)
    }
    const maxVersion = Math.min(handler.maxVersion, handler.advertiseUnstable === true ? api.maxVersion : api.maxStableVersion)
    if (apiKey === ApiVersions.apiKey && version > maxVersion) {
      // KIP-511: answer in v0, which every client can read, with the ranges it may retry with.
      return encodeResponse(ApiVersions, 0, correlationId, { errorCode: KafkaErrorCode.UNSUPPORTED_VERSION, apiKeys: this.context.supportedApis })
    }
    if (version < handler.minVersion || version > maxVersion) {
      throw new UnanswerableRequestError(`${api.name} v${version} is not served; this broker serves v${handler.minVersion}-${maxVersion}`)
    }
    if (auth !== null && !BEFORE_AUTHENTICATION.has(apiKey)) {
      if (!auth.authenticated) throw new UnanswerableRequestError(`${api.name} before SASL authentication; authenticate first (SaslHandshake, SaslAuthenticate)`)
      if (auth.expired(Date.now())) throw new UnanswerableRequestError(`${api.name} after the SASL session expired; the client must re-authenticate before it (KIP-368)`)
    }
    let request: unknown
    try {
      request = decodeRequestBody(api, version, body)
    } catch (error) {
      throw new UnanswerableRequestError(`${api.name} v${version} request body does not decode`, { cause: error })
    }
    const ctx: RequestContext = { ...this.context, node: this.endpoint, version, clientId: header.clientId, connection }
    const fault = this.faults.take(apiKey, this.endpoint.nodeId)
    const response = fault.errorCode !== null ? handler.errorResponse(request, fault.errorCode, ctx) : await handler.handle(request, ctx)
    if (fault.delayMs > 0) await sleep(fault.delayMs, undefined, { signal: this.context.stopping }).catch(() => {})
    if (response === null) return null
    return encodeResponseChunks(api, version, correlationId, response, SHARE_FROM_BYTES)
  }
}
