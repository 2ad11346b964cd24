/** Turns the security options into what the listeners and the request pipeline use. */
import type { TlsOptions } from 'node:tls'
import type { ScramHash } from '../../net/sasl/scram.js'
import type { SaslSettings } from './connection-auth.js'
import { SaslCredentials } from './credentials.js'
import type { BrokerSaslOptions, BrokerTlsOptions } from './options.js'

export function tlsServerOptionsOf(tls: BrokerTlsOptions | undefined): TlsOptions | undefined {
  if (tls === undefined) return undefined
  const mutual = tls.ca !== undefined
  return { cert: tls.cert, key: tls.key, ...(mutual ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }
}

export function saslSettingsOf(sasl: BrokerSaslOptions | undefined): SaslSettings | undefined {
  if (sasl === undefined) return undefined
  const hashes: ScramHash[] = []
  if (sasl.mechanisms.includes('SCRAM-SHA-256')) hashes.push('sha256')
  if (sasl.mechanisms.includes('SCRAM-SHA-512')) hashes.push('sha512')
  return { mechanisms: [...new Set(sasl.mechanisms)], credentials: new SaslCredentials(sasl.users, hashes), sessionLifetimeMs: sasl.sessionLifetimeMs ?? 0 }
}
