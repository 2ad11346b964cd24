/** Options of one broker connection, and their validation. */
import type { ConnectionOptions as TlsOptions } from 'node:tls'
import { ConfigError } from '../protocol/errors/base.js'
import type { SaslOptions } from './sasl/index.js'

export interface ConnectionOptions {
  host: string
  port: number
  /** The broker's node id once metadata named it; used in error messages. */
  nodeId?: number
  /** Sent in every request header; brokers log it and apply quotas by it. Default `'baton'`. */
  clientId?: string | null
  /** `true` for TLS with Node's defaults, or node:tls options (CA, client certificate, ...). */
  tls?: boolean | TlsOptions
  sasl?: SaslOptions
  /** Time to open the socket and finish the TLS handshake. Default 10 s. */
  connectTimeoutMs?: number
  /** Time a request may wait for its response before the connection is closed. Default 30 s. */
  requestTimeoutMs?: number
  /** Requests written but not yet answered; more wait in a queue. Default 5, as Kafka's clients. */
  maxInFlightRequests?: number
  /** Largest response frame accepted. Default 100 MiB. */
  maxFrameBytes?: number
  /** First reconnect delay after a failure; doubles per consecutive failure. Default 50 ms. */
  reconnectBackoffMs?: number
  /** Cap on the reconnect delay. Default 1 s. */
  reconnectBackoffMaxMs?: number
  /** Randomness for the backoff jitter (tests pin it). */
  random?: () => number
  /**
   * Highest version to use per API, by Kafka's API name (`{ JoinGroup: 5 }`), for brokers that
   * advertise versions they cannot actually serve. Normally unset: versions are negotiated.
   */
  maxApiVersions?: Readonly<Record<string, number>>
}

export interface RequestOptions {
  /** Overrides the connection's request timeout (a long-polling Fetch needs its max wait on top). */
  timeoutMs?: number
  /** The broker sends no response (Produce with acks=0): settle once the frame is written. */
  noResponse?: boolean
  /** About how many bytes the request will take (Produce: its batches), so encoding never regrows its buffer. */
  sizeHint?: number
  /**
   * Byte fields of at least this many bytes (Produce: record batches) are written from where they
   * are, not copied into the frame; the caller must not change them until the request settles.
   */
  shareBytesFrom?: number
}

export function validateConnectionOptions(options: ConnectionOptions): void {
  if (typeof options.host !== 'string' || options.host.length === 0) throw new ConfigError('host', 'must be a non-empty string')
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new ConfigError('port', `must be an integer in 1-65535, got ${String(options.port)}`)
  }
  for (const name of ['connectTimeoutMs', 'requestTimeoutMs', 'maxInFlightRequests', 'maxFrameBytes', 'reconnectBackoffMs', 'reconnectBackoffMaxMs'] as const) {
    const value = options[name]
    if (value !== undefined && (!Number.isInteger(value) || value <= 0)) {
      throw new ConfigError(name, `must be a positive integer, got ${String(value)}`)
    }
  }
  for (const [api, version] of Object.entries(options.maxApiVersions ?? {})) {
    if (!Number.isInteger(version) || version < 0) {
      throw new ConfigError(`maxApiVersions.${api}`, `must be a version number (an integer >= 0), got ${String(version)}`)
    }
  }
}
