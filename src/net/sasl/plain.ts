/** SASL PLAIN (RFC 4616): one message, authorization id empty, user and password in clear text. */
import type { SaslSession } from './mechanism.js'

export function plainSession(username: string, password: string): SaslSession {
  return {
    mechanism: 'PLAIN',
    initial: () => Buffer.from(`\u0000${username}\u0000${password}`, 'utf8'),
    next: () => null,
  }
}
