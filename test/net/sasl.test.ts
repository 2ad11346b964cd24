import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { afterEach, describe, it } from 'node:test'
import { Connection } from '../../src/net/connection.js'
import { SaslError } from '../../src/net/errors.js'
import { plainSession } from '../../src/net/sasl/plain.js'
import { escapeSaslName, hmac, parseScramAttributes, scramKeys, scramSession, xor, type ScramHash } from '../../src/net/sasl/scram.js'
import { Metadata, SaslAuthenticate, SaslHandshake } from '../../src/protocol/generated/index.js'
import { FakeServer } from './helpers/fake-server.js'

describe('SCRAM', () => {
  // RFC 7677 section 3: user "user", password "pencil", SCRAM-SHA-256.
  it('produces the client proof of RFC 7677 and accepts its server signature', () => {
    const session = scramSession({ hash: 'sha256', username: 'user', password: 'pencil', nonce: 'rOprNGfwEbeRWgbNEkqO' })
    assert.equal(session.initial().toString(), 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO')
    const final = session.next(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))
    assert.equal(
      final?.toString(),
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
    )
    assert.equal(session.next(Buffer.from('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')), null)
  })

  it('rejects a server signature that does not match', () => {
    const session = scramSession({ hash: 'sha256', username: 'user', password: 'pencil', nonce: 'rOprNGfwEbeRWgbNEkqO' })
    session.initial()
    session.next(Buffer.from('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096'))
    assert.throws(() => session.next(Buffer.from('v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')), (e: unknown) => e instanceof SaslError && e.code === 'SASL_AUTHENTICATION_FAILED')
  })

  it('refuses a server nonce that does not extend the client nonce, and too few iterations', () => {
    const a = scramSession({ hash: 'sha512', username: 'u', password: 'p', nonce: 'abc' })
    a.initial()
    assert.throws(() => a.next(Buffer.from('r=xyz123,s=AAAA,i=4096')), (e: unknown) => e instanceof SaslError && e.code === 'SASL_PROTOCOL')
    const b = scramSession({ hash: 'sha512', username: 'u', password: 'p', nonce: 'abc' })
    b.initial()
    assert.throws(() => b.next(Buffer.from('r=abc123,s=AAAA,i=10')), SaslError)
  })

  it('escapes = and , in user names', () => {
    assert.equal(escapeSaslName('a=b,c'), 'a=3Db=2Cc')
  })
})

/** A broker-side SCRAM check computed from the RFC's definitions, to round-trip SHA-512. */
function scramServer(hash: ScramHash, password: string) {
  const salt = randomBytes(16)
  const iterations = 4096
  const keys = scramKeys(hash, password, salt, iterations)
  let clientFirstBare = ''
  let serverFirst = ''
  return (bytes: Buffer): { ok: boolean; reply: Buffer } => {
    const message = bytes.toString()
    if (serverFirst === '') {
      clientFirstBare = message.slice(3)
      const nonce = parseScramAttributes(clientFirstBare).get('r')! + 'server'
      serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`
      return { ok: true, reply: Buffer.from(serverFirst) }
    }
    const attributes = parseScramAttributes(message)
    const withoutProof = message.slice(0, message.lastIndexOf(',p='))
    const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
    const clientKey = xor(Buffer.from(attributes.get('p')!, 'base64'), hmac(hash, keys.storedKey, authMessage))
    const ok = createHash(hash).update(clientKey).digest().equals(keys.storedKey)
    return { ok, reply: Buffer.from(`v=${hmac(hash, keys.serverKey, authMessage).toString('base64')}`) }
  }
}


describe('SASL over a connection', () => {
  const servers: FakeServer[] = []
  const connections: Connection[] = []
  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.close()))
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  async function broker(mechanisms: string[], password: string) {
    const server = await FakeServer.start()
    servers.push(server)
    let step: ((bytes: Buffer) => { ok: boolean; reply: Buffer }) | undefined
    server.on(SaslHandshake, (request) => {
      const mechanism = request.body.mechanism
      if (!mechanisms.includes(mechanism)) return { errorCode: 33, mechanisms }
      if (mechanism !== 'PLAIN') step = scramServer(mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha512', password)
      return { errorCode: 0, mechanisms }
    })
    server.on(SaslAuthenticate, (request) => {
      if (step === undefined) {
        const [, , given] = request.body.authBytes.toString().split('\u0000')
        return given === password ? { errorCode: 0, authBytes: Buffer.alloc(0) } : { errorCode: 58, errorMessage: 'bad password', authBytes: Buffer.alloc(0) }
      }
      const { ok, reply } = step(request.body.authBytes)
      return ok ? { errorCode: 0, authBytes: reply } : { errorCode: 58, errorMessage: 'bad proof', authBytes: Buffer.alloc(0) }
    })
    server.on(Metadata, () => ({ brokers: [], topics: [] }))
    return server
  }

  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`authenticates with ${mechanism} before the first request`, async () => {
      const server = await broker([mechanism], 'secret')
      const connection = new Connection({ host: server.host, port: server.port, sasl: { mechanism, username: 'alice', password: 'secret' } })
      connections.push(connection)
      await connection.request(Metadata, { topics: [] })
      assert.deepEqual(
        server.received.map((r) => r.apiName),
        ['SaslHandshake', ...(mechanism === 'PLAIN' ? ['SaslAuthenticate'] : ['SaslAuthenticate', 'SaslAuthenticate']), 'Metadata'],
      )
    })
  }

  it('fails with SASL_AUTHENTICATION_FAILED on a wrong password', async () => {
    const server = await broker(['SCRAM-SHA-256'], 'secret')
    const connection = new Connection({ host: server.host, port: server.port, sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'wrong' } })
    connections.push(connection)
    await assert.rejects(connection.request(Metadata, { topics: [] }), (e: unknown) => e instanceof SaslError && e.code === 'SASL_AUTHENTICATION_FAILED')
  })

  it('names the enabled mechanisms when the broker lacks the chosen one', async () => {
    const server = await broker(['SCRAM-SHA-512'], 'secret')
    const connection = new Connection({ host: server.host, port: server.port, sasl: { mechanism: 'PLAIN', username: 'alice', password: 'secret' } })
    connections.push(connection)
    await assert.rejects(connection.connect(), (e: unknown) => e instanceof SaslError && e.code === 'SASL_MECHANISM_UNSUPPORTED' && e.message.includes('SCRAM-SHA-512'))
  })

  it('PLAIN sends authorization id, user and password separated by NUL', () => {
    assert.equal(plainSession('u', 'p').initial().toString('hex'), '0075' + '0070')
  })
})
