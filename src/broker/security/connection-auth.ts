/**
 * One client connection's SASL state, as Kafka's SaslServerAuthenticator keeps it:
 *
 *   handshake → (v0 handshake: raw token frames | v1: SaslAuthenticate requests) → authenticated
 *
 * and, with a session lifetime (KIP-368), authenticated → expired unless the client re-authenticates
 * (another SaslHandshake and SaslAuthenticate on the same connection, same mechanism and user)
 * before the lifetime ends. Until authenticated, only ApiVersions and the SASL requests are served.
 */
import type { SaslMechanismName } from '../../net/sasl/index.js'
import type { SaslCredentials } from './credentials.js'
import { createServerSession, type SaslServerSession } from './sasl-server.js'

export interface SaslSettings {
  readonly mechanisms: readonly SaslMechanismName[]
  readonly credentials: SaslCredentials
  readonly sessionLifetimeMs: number
}

export class ConnectionAuth {
  /** The exchange under way, between a handshake and its last SaslAuthenticate. */
  private exchange: SaslServerSession | null = null
  /** After a v0 handshake the client sends its tokens as bare size-prefixed frames, not requests. */
  rawTokens = false
  principal: string | null = null
  mechanism: SaslMechanismName | null = null
  /** When the authentication stops holding; Infinity without a session lifetime. */
  expiresAt = Infinity

  constructor(readonly settings: SaslSettings) {}

  get authenticated(): boolean {
    return this.principal !== null
  }

  expired(now: number): boolean {
    return this.principal !== null && now >= this.expiresAt
  }

  get exchangeUnderWay(): boolean {
    return this.exchange !== null
  }

  /** Starts an exchange; returns why not (a Kafka error name) or null. */
  begin(mechanism: string, rawTokens: boolean): 'UNSUPPORTED_SASL_MECHANISM' | 'ILLEGAL_SASL_STATE' | null {
    if (this.exchange !== null) return 'ILLEGAL_SASL_STATE'
    const enabled = this.settings.mechanisms.find((m) => m === mechanism)
    if (enabled === undefined) return 'UNSUPPORTED_SASL_MECHANISM'
    // Re-authentication keeps the mechanism and needs SaslAuthenticate (KIP-368).
    if (this.principal !== null && (rawTokens || enabled !== this.mechanism)) return 'ILLEGAL_SASL_STATE'
    this.exchange = createServerSession(enabled, this.settings.credentials)
    this.rawTokens = rawTokens
    return null
  }

  /**
   * Feeds one client message to the exchange. Throws SaslRefusal (from the mechanism) or
   * ReauthenticationRefusal; on the last step records the principal and the new expiry.
   */
  step(fromClient: Buffer, now: number): { challenge: Buffer; done: boolean } {
    const exchange = this.exchange
    if (exchange === null) throw new IllegalSaslState('SaslAuthenticate before SaslHandshake')
    let result
    try {
      result = exchange.step(fromClient)
    } catch (error) {
      this.exchange = null
      throw error
    }
    if (!result.done) return { challenge: result.challenge, done: false }
    this.exchange = null
    this.rawTokens = false
    if (this.principal !== null && this.principal !== result.principal) {
      throw new IllegalSaslState(`re-authentication as ${result.principal} on a connection authenticated as ${this.principal}; a connection keeps its user`)
    }
    this.principal = result.principal
    this.mechanism = exchange.mechanism
    this.expiresAt = this.settings.sessionLifetimeMs > 0 ? now + this.settings.sessionLifetimeMs : Infinity
    return { challenge: result.challenge, done: true }
  }

  /** Milliseconds left, as SaslAuthenticate v1+ reports it; 0 when the session never expires. */
  sessionLifetimeLeft(now: number): number {
    return this.expiresAt === Infinity ? 0 : Math.max(1, this.expiresAt - now)
  }
}

/** A SASL request out of order; answered with ILLEGAL_SASL_STATE and the connection closed. */
export class IllegalSaslState extends Error {}
