/**
 * The embedded broker's security options (TLS listeners, SASL) and their checks. Kafka calls the
 * four combinations PLAINTEXT, SSL, SASL_PLAINTEXT and SASL_SSL; the broker reports which one it
 * runs so that clients (and the `baton broker` listening line) know how to connect.
 */
import type { SaslMechanismName } from '../../net/sasl/index.js'
import { SASL_MECHANISMS } from '../../net/sasl/index.js'
import { BrokerError } from '../errors.js'

export interface BrokerTlsOptions {
  /** The broker's certificate chain, PEM. */
  cert: string | Buffer
  /** Its private key, PEM. */
  key: string | Buffer
  /** CA certificates, PEM. When given, clients must present a certificate signed by one (mutual TLS). */
  ca?: string | Buffer
}

export interface BrokerSaslOptions {
  /** Mechanisms the listener enables (Kafka's sasl.enabled.mechanisms). */
  mechanisms: readonly SaslMechanismName[]
  /** Users and their passwords; SCRAM credentials are derived from them at start-up. */
  users: Readonly<Record<string, string>>
  /**
   * KIP-368: how long an authentication holds (Kafka's connections.max.reauth.ms). After it, the
   * connection must authenticate again before any other request; 0 (the default) means forever.
   */
  sessionLifetimeMs?: number
}

export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL'

export function securityProtocolOf(tls: BrokerTlsOptions | undefined, sasl: BrokerSaslOptions | undefined): SecurityProtocol {
  if (sasl !== undefined) return tls !== undefined ? 'SASL_SSL' : 'SASL_PLAINTEXT'
  return tls !== undefined ? 'SSL' : 'PLAINTEXT'
}

export function validateTls(tls: BrokerTlsOptions | undefined): void {
  if (tls === undefined) return
  for (const name of ['cert', 'key'] as const) {
    const value = tls[name]
    if ((typeof value !== 'string' && !Buffer.isBuffer(value)) || value.length === 0) {
      throw new BrokerError('BROKER_INVALID_OPTION', `tls.${name} must be the PEM text of the broker's ${name === 'cert' ? 'certificate' : 'private key'}`)
    }
  }
}

export function validateSasl(sasl: BrokerSaslOptions | undefined): void {
  if (sasl === undefined) return
  if (!Array.isArray(sasl.mechanisms) || sasl.mechanisms.length === 0) {
    throw new BrokerError('BROKER_INVALID_OPTION', `sasl.mechanisms must list at least one of ${SASL_MECHANISMS.join(', ')}`)
  }
  for (const m of sasl.mechanisms as readonly string[]) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(m)) throw new BrokerError('BROKER_INVALID_OPTION', `SASL mechanism ${String(m)} is not supported; use ${SASL_MECHANISMS.join(', ')}`)
  }
  const names = Object.keys(sasl.users)
  if (names.length === 0) throw new BrokerError('BROKER_INVALID_OPTION', 'sasl.users is empty: no client could authenticate; add at least one user')
  for (const name of names) {
    if (name.length === 0) throw new BrokerError('BROKER_INVALID_OPTION', 'sasl.users has an empty user name')
    if (typeof sasl.users[name] !== 'string') throw new BrokerError('BROKER_INVALID_OPTION', `sasl.users.${name} must be a password string`)
  }
  const lifetime = sasl.sessionLifetimeMs
  if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime < 0)) {
    throw new BrokerError('BROKER_INVALID_OPTION', `sasl.sessionLifetimeMs must be an integer >= 0 (0: no expiry), got ${String(lifetime)}`)
  }
}

/**
 * Reads a users file: one `name:password` per line (the password is everything after the first
 * colon), blank lines and lines starting with `#` ignored.
 */
export function parseUsersFile(text: string, source: string): Record<string, string> {
  const users: Record<string, string> = {}
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const colon = line.indexOf(':')
    if (colon <= 0) throw new BrokerError('BROKER_INVALID_OPTION', `${source} line ${i + 1}: expected name:password`)
    users[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return users
}
