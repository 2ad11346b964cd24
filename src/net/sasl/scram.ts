/**
 * SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677; Kafka's KIP-84), client side, with the
 * server's signature checked at the end so that a broker that does not know the password cannot
 * pass itself off as the real one.
 *
 * Passwords are used as given: SASLprep normalisation is not applied, so non-ASCII passwords must
 * already be in the form the broker stored (Kafka's own client does the same).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'
import { SaslError } from '../errors.js'
import type { SaslSession } from './mechanism.js'

export type ScramHash = 'sha256' | 'sha512'

const KEY_LENGTH: Record<ScramHash, number> = { sha256: 32, sha512: 64 }
/** RFC 7677 asks for at least 4096 iterations; fewer means a weak or hostile server. */
const MIN_ITERATIONS = 4096
const GS2_HEADER = 'n,,'

/** Escapes `=` and `,` in the user name as RFC 5802 section 5.1 requires. */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C')
}

export interface ScramKeys {
  saltedPassword: Buffer
  clientKey: Buffer
  storedKey: Buffer
  serverKey: Buffer
}

/** The keys derived from a password, as both the client and a server holding the password compute them. */
export function scramKeys(hash: ScramHash, password: string, salt: Buffer, iterations: number): ScramKeys {
  const saltedPassword = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, KEY_LENGTH[hash], hash)
  const clientKey = hmac(hash, saltedPassword, 'Client Key')
  return {
    saltedPassword,
    clientKey,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: hmac(hash, saltedPassword, 'Server Key'),
  }
}

export function hmac(hash: ScramHash, key: Buffer, data: string): Buffer {
  return createHmac(hash, key).update(data, 'utf8').digest()
}

export function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!
  return out
}

/** Parses `k=v,k=v` attributes; values may contain `=` but not `,`. */
export function parseScramAttributes(message: string): Map<string, string> {
  const map = new Map<string, string>()
  for (const part of message.split(',')) {
    const eq = part.indexOf('=')
    if (eq !== 1) throw new SaslError('SASL_PROTOCOL', `malformed SCRAM attribute ${JSON.stringify(part)}`)
    map.set(part.slice(0, 1), part.slice(2))
  }
  return map
}

export interface ScramSessionOptions {
  hash: ScramHash
  username: string
  password: string
  /** The client nonce; random unless a test pins it. */
  nonce?: string
}

export function scramSession(options: ScramSessionOptions): SaslSession {
  const { hash } = options
  const clientNonce = options.nonce ?? randomBytes(24).toString('base64url')
  const clientFirstBare = `n=${escapeSaslName(options.username)},r=${clientNonce}`
  let expectedServerSignature: Buffer | null = null
  let done = false
  return {
    mechanism: hash === 'sha256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512',
    initial: () => Buffer.from(GS2_HEADER + clientFirstBare, 'utf8'),
    next(fromBroker) {
      const message = fromBroker.toString('utf8')
      if (expectedServerSignature === null) {
        if (done) throw new SaslError('SASL_PROTOCOL', 'SCRAM exchange continued after it completed')
        const attributes = parseScramAttributes(message)
        const error = attributes.get('e')
        if (error !== undefined) throw new SaslError('SASL_AUTHENTICATION_FAILED', `SCRAM server refused: ${error}`)
        const nonce = attributes.get('r')
        const salt = attributes.get('s')
        const iterations = Number(attributes.get('i'))
        if (nonce === undefined || salt === undefined || !Number.isInteger(iterations)) {
          throw new SaslError('SASL_PROTOCOL', `SCRAM server-first message lacks r, s or i: ${JSON.stringify(message)}`)
        }
        if (!nonce.startsWith(clientNonce) || nonce.length === clientNonce.length) {
          throw new SaslError('SASL_PROTOCOL', 'SCRAM server nonce does not extend the client nonce; the exchange may be replayed')
        }
        if (iterations < MIN_ITERATIONS) {
          throw new SaslError('SASL_PROTOCOL', `SCRAM server asked for ${iterations} iterations, below the minimum of ${MIN_ITERATIONS}`)
        }
        const keys = scramKeys(hash, options.password, Buffer.from(salt, 'base64'), iterations)
        const withoutProof = `c=${Buffer.from(GS2_HEADER).toString('base64')},r=${nonce}`
        const authMessage = `${clientFirstBare},${message},${withoutProof}`
        const proof = xor(keys.clientKey, hmac(hash, keys.storedKey, authMessage))
        expectedServerSignature = hmac(hash, keys.serverKey, authMessage)
        return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`, 'utf8')
      }
      const attributes = parseScramAttributes(message)
      const error = attributes.get('e')
      if (error !== undefined) throw new SaslError('SASL_AUTHENTICATION_FAILED', `SCRAM server refused: ${error}`)
      const verifier = Buffer.from(attributes.get('v') ?? '', 'base64')
      if (verifier.length !== expectedServerSignature.length || !timingSafeEqual(verifier, expectedServerSignature)) {
        throw new SaslError('SASL_AUTHENTICATION_FAILED', 'SCRAM server signature does not match: the broker does not hold this password')
      }
      expectedServerSignature = null
      done = true
      return null
    },
  }
}
