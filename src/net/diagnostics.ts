/**
 * Request and response events on `node:diagnostics_channel`, for metrics and tracing.
 *
 * Publishers check `hasSubscribers` before building a message, so the events cost one property
 * read per request when nobody listens.
 *
 * ```ts
 * import diagnostics from 'node:diagnostics_channel'
 * diagnostics.subscribe('baton:net:response', (message) => { const m = message as ResponseEvent; ... })
 * ```
 */
import diagnostics from 'node:diagnostics_channel'

export const REQUEST_CHANNEL = 'baton:net:request'
export const RESPONSE_CHANNEL = 'baton:net:response'
export const CONNECTION_CHANNEL = 'baton:net:connection'

/** Published when a request is written to the socket. */
export interface RequestEvent {
  readonly broker: string
  readonly apiKey: number
  readonly apiName: string
  readonly apiVersion: number
  readonly correlationId: number
  readonly bytes: number
}

/** Published when a request settles: with its response, or with the error that ended it. */
export interface ResponseEvent extends RequestEvent {
  readonly durationMs: number
  readonly responseBytes: number
  readonly error: Error | undefined
}

/** Published when a connection opens (after negotiation and authentication) or closes. */
export interface ConnectionEvent {
  readonly broker: string
  readonly state: 'ready' | 'closed' | 'failed'
  readonly error: Error | undefined
}

export const requestChannel = diagnostics.channel(REQUEST_CHANNEL)
export const responseChannel = diagnostics.channel(RESPONSE_CHANNEL)
export const connectionChannel = diagnostics.channel(CONNECTION_CHANNEL)
