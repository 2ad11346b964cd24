/**
 * What the broker holds to check a password: for PLAIN the password itself, for SCRAM the stored
 * key and server key of RFC 5802 with a random salt per user (as Kafka stores SCRAM credentials),
 * derived once at start-up so that an authentication costs no key stretching on the broker.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { scramKeys, type ScramHash } from '../../net/sasl/scram.js'

export interface ScramCredential {
  salt: Buffer
  iterations: number
  storedKey: Buffer
  serverKey: Buffer
}

/** Kafka's minimum and default for SCRAM iterations. */
export const SCRAM_ITERATIONS = 4096

export class SaslCredentials {
  private readonly passwords: ReadonlyMap<string, string>
  private readonly scram = new Map<string, ScramCredential>()

  constructor(users: Readonly<Record<string, string>>, hashes: readonly ScramHash[]) {
    this.passwords = new Map(Object.entries(users))
    for (const [name, password] of this.passwords) {
      for (const hash of hashes) {
        const salt = randomBytes(16)
        const keys = scramKeys(hash, password, salt, SCRAM_ITERATIONS)
        this.scram.set(`${hash}\u0000${name}`, { salt, iterations: SCRAM_ITERATIONS, storedKey: keys.storedKey, serverKey: keys.serverKey })
      }
    }
  }

  checkPassword(name: string, password: string): boolean {
    const known = this.passwords.get(name)
    if (known === undefined) return false
    const a = Buffer.from(known, 'utf8')
    const b = Buffer.from(password, 'utf8')
    return a.length === b.length && timingSafeEqual(a, b)
  }

  scramCredential(hash: ScramHash, name: string): ScramCredential | undefined {
    return this.scram.get(`${hash}\u0000${name}`)
  }
}
