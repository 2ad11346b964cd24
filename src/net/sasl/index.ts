import { SaslError } from '../errors.js'
import type { SaslOptions, SaslSession } from './mechanism.js'
import { plainSession } from './plain.js'
import { scramSession } from './scram.js'

export type { SaslMechanismName, SaslOptions, SaslSession } from './mechanism.js'
export { SASL_MECHANISMS } from './mechanism.js'

export function createSaslSession(options: SaslOptions): SaslSession {
  switch (options.mechanism) {
    case 'PLAIN':
      return plainSession(options.username, options.password)
    case 'SCRAM-SHA-256':
      return scramSession({ hash: 'sha256', username: options.username, password: options.password })
    case 'SCRAM-SHA-512':
      return scramSession({ hash: 'sha512', username: options.username, password: options.password })
    default:
      throw new SaslError('SASL_MECHANISM_UNSUPPORTED', `SASL mechanism ${String(options.mechanism)} is not supported; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512`)
  }
}
