/**
 * Errors of the connection layer. Each has a stable `code` and says whether sending the request
 * again (on a new connection) may succeed, so callers retry on `retriable`, never on message text.
 */
import { BatonError } from '../protocol/errors/base.js'

export type NetworkErrorCode =
  | 'NET_CONNECT_FAILED'
  | 'NET_CONNECT_TIMEOUT'
  | 'NET_CONNECTION_LOST'
  | 'NET_REQUEST_TIMEOUT'
  | 'NET_CLOSED'
  | 'NET_PROTOCOL'
  | 'NET_TLS_FAILED'

/** Where an error happened: the broker's address and, once known, its node id. */
export interface NetworkErrorContext {
  broker: string
  api?: string
}

/**
 * The connection could not carry the request: it failed to open, dropped, timed out or was closed.
 * A request that was already written when the connection dropped may or may not have taken effect.
 */
export class NetworkError extends BatonError {
  declare readonly code: NetworkErrorCode
  readonly retriable: boolean
  readonly broker: string
  readonly api: string | undefined

  constructor(code: NetworkErrorCode, context: NetworkErrorContext, message: string, options?: ErrorOptions) {
    const what = context.api === undefined ? `broker ${context.broker}` : `${context.api} to broker ${context.broker}`
    super(code, `${what}: ${message}`, options)
    // Closing is the user's decision and a protocol violation will repeat, so neither is worth a retry.
    // A TLS handshake refused for trust or certificate reasons fails the same way every time.
    this.retriable = code !== 'NET_CLOSED' && code !== 'NET_PROTOCOL' && code !== 'NET_TLS_FAILED'
    this.broker = context.broker
    this.api = context.api
  }
}

/** The broker does not support any version of an API that baton implements. */
export class UnsupportedVersionError extends BatonError {
  readonly api: string
  readonly broker: string

  constructor(api: string, broker: string, detail: string) {
    super(
      'NET_UNSUPPORTED_VERSION',
      `broker ${broker} supports no version of ${api} that baton implements (${detail}); upgrade the broker or use an older baton`,
    )
    this.api = api
    this.broker = broker
  }
}

export type SaslErrorCode = 'SASL_MECHANISM_UNSUPPORTED' | 'SASL_AUTHENTICATION_FAILED' | 'SASL_PROTOCOL'

/** Authentication failed; not retriable with the same credentials. */
export class SaslError extends BatonError {
  declare readonly code: SaslErrorCode
  readonly retriable = false

  constructor(code: SaslErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options)
  }
}
