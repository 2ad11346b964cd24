/**
 * A SASL exchange as the connection drives it: send `initial()`, then keep answering the broker's
 * bytes with `next()` until it returns null (KIP-152 carries each step in a SaslAuthenticate).
 */
export interface SaslSession {
  readonly mechanism: string
  initial(): Buffer
  /** The reply to the broker's last bytes, or null when the exchange is complete and verified. */
  next(fromBroker: Buffer): Buffer | null
}

export type SaslMechanismName = 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

export interface SaslOptions {
  mechanism: SaslMechanismName
  username: string
  password: string
}

export const SASL_MECHANISMS: readonly SaslMechanismName[] = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']
