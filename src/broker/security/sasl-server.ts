/**
 * The broker's side of the SASL exchanges: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802,
 * RFC 7677, Kafka's KIP-84). A session takes the client's bytes one message at a time and either
 * answers with the next challenge, finishes with the authenticated user, or refuses with the text
 * Kafka sends back in SaslAuthenticate's error message.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { SaslMechanismName } from '../../net/sasl/index.js'
import { hmac, parseScramAttributes, xor, type ScramHash } from '../../net/sasl/scram.js'
import type { SaslCredentials } from './credentials.js'

export type SaslStep = { done: false; challenge: Buffer } | { done: true; challenge: Buffer; principal: string }

export interface SaslServerSession {
  readonly mechanism: SaslMechanismName
  step(fromClient: Buffer): SaslStep
}

/** A refusal; its message goes to the client as the SaslAuthenticate error message. */
export class SaslRefusal extends Error {}

const invalidCredentials = (mechanism: string): SaslRefusal =>
  new SaslRefusal(`Authentication failed during authentication due to invalid credentials with SASL mechanism ${mechanism}`)

export function createServerSession(mechanism: SaslMechanismName, credentials: SaslCredentials): SaslServerSession {
  if (mechanism === 'PLAIN') return plainServer(credentials)
  return scramServer(mechanism, mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', credentials)
}

function plainServer(credentials: SaslCredentials): SaslServerSession {
  return {
    mechanism: 'PLAIN',
    step(fromClient) {
      const parts = fromClient.toString('utf8').split('\u0000')
      if (parts.length !== 3) throw new SaslRefusal('Invalid SASL/PLAIN response: expected 3 tokens separated by NUL')
      const [authzid, user, password] = parts as [string, string, string]
      if (user === '') throw new SaslRefusal('Authentication failed: username not specified')
      if (authzid !== '' && authzid !== user) throw new SaslRefusal('Authentication failed: Client requested an authorization id that is different from username')
      if (!credentials.checkPassword(user, password)) throw new SaslRefusal('Authentication failed: Invalid username or password')
      return { done: true, challenge: Buffer.alloc(0), principal: user }
    },
  }
}

function unescapeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw new SaslRefusal(`Invalid SCRAM user name ${JSON.stringify(name)}`)
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=')
}

function scramServer(mechanism: SaslMechanismName, hash: ScramHash, credentials: SaslCredentials): SaslServerSession {
  let state: { user: string; nonce: string; clientFirstBare: string; serverFirst: string; gs2Header: string } | null = null
  let finished = false
  return {
    mechanism,
    step(fromClient) {
      if (finished) throw new SaslRefusal('SCRAM exchange already complete')
      const message = fromClient.toString('utf8')
      if (state === null) {
        // gs2-header: "n,," or "n,a=authzid,"; channel binding ('p=') is not offered.
        const match = /^([ny]),(a=[^,]*)?,(.*)$/.exec(message)
        if (match === null) throw new SaslRefusal('Invalid SCRAM client-first message: bad GS2 header (channel binding is not supported)')
        const clientFirstBare = match[3]!
        const attributes = parseBare(clientFirstBare)
        const user = unescapeSaslName(attributes.get('n') ?? '')
        const clientNonce = attributes.get('r')
        if (user === '' || clientNonce === undefined || clientNonce === '') throw new SaslRefusal('Invalid SCRAM client-first message: n and r are required')
        const authzid = match[2] === undefined ? '' : unescapeSaslName(match[2].slice(2))
        if (authzid !== '' && authzid !== user) throw new SaslRefusal('Authentication failed: Client requested an authorization id that is different from username')
        const credential = credentials.scramCredential(hash, user)
        if (credential === undefined) throw invalidCredentials(mechanism)
        const nonce = clientNonce + randomBytes(18).toString('base64url')
        const serverFirst = `r=${nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`
        state = { user, nonce, clientFirstBare, serverFirst, gs2Header: message.slice(0, message.length - clientFirstBare.length) }
        return { done: false, challenge: Buffer.from(serverFirst, 'utf8') }
      }
      finished = true
      const attributes = parseBare(message)
      const proofAt = message.lastIndexOf(',p=')
      if (proofAt < 0) throw new SaslRefusal('Invalid SCRAM client-final message: no proof')
      // Kafka checks that the nonce ends with the one it sent, not that it equals it: librdkafka
      // 2.0 (Debian's kcat) sends its own nonce in front of the whole server nonce again.
      if (!(attributes.get('r') ?? '').endsWith(state.nonce)) throw new SaslRefusal('Invalid SCRAM client-final message: nonce mismatch')
      if (attributes.get('c') !== Buffer.from(state.gs2Header, 'utf8').toString('base64')) throw new SaslRefusal('Invalid SCRAM client-final message: channel binding mismatch')
      const credential = credentials.scramCredential(hash, state.user)!
      const authMessage = `${state.clientFirstBare},${state.serverFirst},${message.slice(0, proofAt)}`
      const proof = Buffer.from(attributes.get('p') ?? '', 'base64')
      const clientSignature = hmac(hash, credential.storedKey, authMessage)
      if (proof.length !== clientSignature.length) throw invalidCredentials(mechanism)
      const clientKey = xor(proof, clientSignature)
      const storedKey = createHash(hash).update(clientKey).digest()
      if (!timingSafeEqual(storedKey, credential.storedKey)) throw invalidCredentials(mechanism)
      const serverSignature = hmac(hash, credential.serverKey, authMessage)
      return { done: true, challenge: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), principal: state.user }
    },
  }
}

/** Attributes of a SCRAM message, refusing (not throwing the client's error type) on bad syntax. */
function parseBare(message: string): Map<string, string> {
  try {
    return parseScramAttributes(message)
  } catch {
    throw new SaslRefusal(`Invalid SCRAM message ${JSON.stringify(message)}`)
  }
}
