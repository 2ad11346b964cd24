/**
 * Invariant: a secured embedded broker serves only clients that prove themselves. Over TLS (and
 * mutual TLS with a CA), with SASL PLAIN and SCRAM-SHA-256/512, baton's client produces and
 * consumes; a wrong password, an untrusted broker certificate and a missing client certificate each
 * fail fast with a typed error saying what to do; an unauthenticated connection gets nothing but
 * ApiVersions and the handshake; a session lifetime (KIP-368) is reported and enforced, and a
 * re-authentication on the same connection extends it.
 */
import assert from 'node:assert/strict'
import { connect as tlsConnect } from 'node:tls'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, afterEach, before, describe, it } from 'node:test'
import { startBroker, type BrokerOptions, type EmbeddedBroker } from '../../src/broker/index.js'
import { BrokerError } from '../../src/broker/errors.js'
import { Admin } from '../../src/client/admin/admin.js'
import { Consumer } from '../../src/client/consumer/consumer.js'
import { Producer } from '../../src/client/producer/producer.js'
import type { ClientConfig } from '../../src/client/config.js'
import { NetworkError, SaslError } from '../../src/net/errors.js'
import { scramSession } from '../../src/net/sasl/scram.js'
import { KafkaErrorCode } from '../../src/protocol/errors/kafka-errors.js'
import { ApiVersions, DescribeGroups, JoinGroup, Metadata, SaslAuthenticate, SaslHandshake, type SaslAuthenticateResponse } from '../../src/protocol/generated/index.js'
import { take } from '../client/helpers/take.js'
import { makeCertificates, type TestCertificates } from './helpers/certificates.js'
import { ConnectionClosed, TestConnection } from './helpers/connection.js'

const USERS = { alice: 'alice-secret', bob: 'bob-secret' }
let certs: TestCertificates
const brokers: EmbeddedBroker[] = []
const clients: Array<{ close(): Promise<void> }> = []

before(() => {
  certs = makeCertificates()
})
after(() => certs.remove())
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  await Promise.all(brokers.splice(0).map((b) => b.stop()))
})

async function broker(options: BrokerOptions): Promise<EmbeddedBroker> {
  const b = await startBroker({ port: 0, ...options })
  brokers.push(b)
  return b
}

function track<T extends { close(): Promise<void> }>(client: T): T {
  clients.push(client)
  return client
}

async function roundTrip(b: EmbeddedBroker, config: Omit<ClientConfig, 'bootstrapServers'>): Promise<void> {
  const producer = track(new Producer({ ...config, bootstrapServers: b.bootstrap }))
  await producer.send({ topic: 'secure', key: 'k', value: 'hello' })
  const consumer = track(new Consumer({ ...config, bootstrapServers: b.bootstrap, autoOffsetReset: 'earliest' }))
  await consumer.assign([{ topic: 'secure', partition: 0 }])
  const records = await take(consumer, 1)
  assert.deepEqual(records.map((r) => r.value?.toString()), ['hello'])
}

describe('embedded broker with TLS and SASL', () => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const) {
    it(`serves baton's client over SASL_SSL with ${mechanism}`, async () => {
      const b = await broker({ tls: { cert: certs.brokerCert, key: certs.brokerKey }, sasl: { mechanisms: [mechanism], users: USERS } })
      assert.equal(b.securityProtocol, 'SASL_SSL')
      await roundTrip(b, { tls: { ca: certs.ca }, sasl: { mechanism, username: 'alice', password: USERS.alice } })
    })
  }

  it('refuses a wrong password with SaslError SASL_AUTHENTICATION_FAILED naming the user', async () => {
    const b = await broker({ sasl: { mechanisms: ['SCRAM-SHA-512'], users: USERS } })
    assert.equal(b.securityProtocol, 'SASL_PLAINTEXT')
    const admin = track(new Admin({ bootstrapServers: b.bootstrap, sasl: { mechanism: 'SCRAM-SHA-512', username: 'alice', password: 'wrong' } }))
    await assert.rejects(admin.connect(), (error: unknown) => {
      assert.ok(error instanceof SaslError, String(error))
      assert.equal(error.code, 'SASL_AUTHENTICATION_FAILED')
      assert.match(error.message, /alice/)
      assert.match(error.message, /invalid credentials/)
      return true
    })
  })

  it('refuses a mechanism the broker does not enable, listing those it does', async () => {
    const b = await broker({ sasl: { mechanisms: ['SCRAM-SHA-256'], users: USERS } })
    const admin = track(new Admin({ bootstrapServers: b.bootstrap, sasl: { mechanism: 'PLAIN', username: 'alice', password: USERS.alice } }))
    await assert.rejects(admin.connect(), (error: unknown) => error instanceof SaslError && error.code === 'SASL_MECHANISM_UNSUPPORTED' && /SCRAM-SHA-256/.test(error.message))
  })

  it('refuses a broker certificate the client does not trust with NetworkError NET_TLS_FAILED', async () => {
    const b = await broker({ tls: { cert: certs.brokerCert, key: certs.brokerKey } })
    assert.equal(b.securityProtocol, 'SSL')
    const admin = track(new Admin({ bootstrapServers: b.bootstrap, tls: { ca: certs.otherCa } }))
    await assert.rejects(admin.connect(), (error: unknown) => {
      assert.ok(error instanceof NetworkError, String(error))
      assert.equal(error.code, 'NET_TLS_FAILED')
      assert.equal(error.retriable, false)
      assert.match(error.message, /not trusted.*tls\.ca/)
      return true
    })
  })

  it('with a CA requires a client certificate signed by it (mutual TLS)', async () => {
    const b = await broker({ tls: { cert: certs.brokerCert, key: certs.brokerKey, ca: certs.ca } })
    await roundTrip(b, { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } })
    const admin = track(new Admin({ bootstrapServers: b.bootstrap, tls: { ca: certs.ca }, requestTimeoutMs: 5000 }))
    await assert.rejects(admin.connect(), (error: unknown) => {
      assert.ok(error instanceof NetworkError, String(error))
      assert.equal(error.code, 'NET_TLS_FAILED')
      assert.match(error.message, /--tls-cert/)
      return true
    })
  })

  it('serves nothing but ApiVersions and the handshake before authentication', async () => {
    const b = await broker({ sasl: { mechanisms: ['PLAIN'], users: USERS } })
    const connection = await TestConnection.open(b.bootstrap[0]!)
    const versions = await connection.request(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' })
    assert.equal(versions.errorCode, 0)
    await assert.rejects(connection.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false }), ConnectionClosed)
  })

  it('answers an unsupported mechanism with UNSUPPORTED_SASL_MECHANISM and the enabled list, then closes', async () => {
    const b = await broker({ sasl: { mechanisms: ['SCRAM-SHA-256', 'PLAIN'], users: USERS } })
    const connection = await TestConnection.open(b.bootstrap[0]!)
    const handshake = await connection.request(SaslHandshake, 1, { mechanism: 'GSSAPI' })
    assert.equal(handshake.errorCode, KafkaErrorCode.UNSUPPORTED_SASL_MECHANISM)
    assert.deepEqual(handshake.mechanisms, ['SCRAM-SHA-256', 'PLAIN'])
    await connection.closed
  })

  it('takes PLAIN as bare tokens after a v0 handshake', async () => {
    const b = await broker({ sasl: { mechanisms: ['PLAIN'], users: USERS } })
    const connection = await TestConnection.open(b.bootstrap[0]!)
    assert.equal((await connection.request(SaslHandshake, 0, { mechanism: 'PLAIN' })).errorCode, 0)
    const token = Buffer.from('\u0000bob\u0000bob-secret')
    const frame = Buffer.alloc(4 + token.length)
    frame.writeInt32BE(token.length, 0)
    token.copy(frame, 4)
    connection.writeRaw(frame)
    const metadata = await connection.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    assert.equal(metadata.brokers.length, 1)
  })

  it('reports the session lifetime, re-authenticates on the same connection, and closes an expired one (KIP-368)', async () => {
    const lifetime = 2000
    const b = await broker({ sasl: { mechanisms: ['SCRAM-SHA-256'], users: USERS, sessionLifetimeMs: lifetime } })
    const connection = await TestConnection.open(b.bootstrap[0]!)
    const authenticate = async (): Promise<bigint> => {
      assert.equal((await connection.request(SaslHandshake, 1, { mechanism: 'SCRAM-SHA-256' })).errorCode, 0)
      const session = scramSession({ hash: 'sha256', username: 'alice', password: USERS.alice })
      let outgoing: Buffer | null = session.initial()
      let reported = 0n
      while (outgoing !== null) {
        const response: SaslAuthenticateResponse = await connection.request(SaslAuthenticate, 2, { authBytes: outgoing })
        assert.equal(response.errorCode, 0, response.errorMessage ?? '')
        reported = response.sessionLifetimeMs
        outgoing = session.next(response.authBytes)
      }
      return reported
    }
    const first = await authenticate()
    const started = Date.now()
    assert.ok(first > 0n && first <= BigInt(lifetime), `lifetime ${first}`)
    await connection.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    // Re-authenticating halfway gives a session that outlives the first one's end.
    await sleep(lifetime / 2)
    assert.ok((await authenticate()) > 0n)
    const renewed = Date.now()
    await sleep(Math.max(0, started + lifetime - Date.now()) + 50)
    await connection.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false })
    // Then the second session runs out: the next request that is not SASL closes the connection.
    await sleep(Math.max(0, renewed + lifetime - Date.now()) + 50)
    await assert.rejects(connection.request(Metadata, 9, { topics: null, allowAutoTopicCreation: false }), ConnectionClosed)
  })

  it("baton's client re-authenticates before its session ends, so no connection is closed for it (KIP-368)", async () => {
    const lines: Array<{ fields: Record<string, unknown>; message: string }> = []
    const log = (fields: object, message = ''): void => void lines.push({ fields: fields as Record<string, unknown>, message })
    const lifetime = 1500
    const b = await broker({ sasl: { mechanisms: ['SCRAM-SHA-256'], users: USERS, sessionLifetimeMs: lifetime }, logger: { debug: log, info: log, warn: log, error: log, child() { return this } } })
    const producer = track(new Producer({ bootstrapServers: b.bootstrap, sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: USERS.alice } }))
    // Records over about three session lifetimes, on the same connections.
    const until = Date.now() + lifetime * 3
    let sent = 0
    while (Date.now() < until) {
      await producer.send({ topic: 'reauth', value: `r${sent++}` })
      await sleep(50)
    }
    assert.ok(lines.some((l) => l.message === 'SASL authenticated' && l.fields.reauthentication === true), 'the client never re-authenticated')
    assert.deepEqual(lines.filter((l) => typeof l.fields.err === 'string' && /session expired/.test(l.fields.err)), [])
    assert.equal(b.offsets('reauth', 0).logEndOffset, sent)
  })

  it('reports each member\'s client host in DescribeGroups', async () => {
    const b = await broker({})
    const connection = await TestConnection.open(b.bootstrap[0]!)
    const join = (memberId: string) =>
      connection.request(JoinGroup, 3, {
        groupId: 'hosts', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
      })
    await join('')
    const described = await connection.request(DescribeGroups, 5, { groups: ['hosts'], includeAuthorizedOperations: false })
    assert.deepEqual(described.groups[0]!.members.map((m) => m.clientHost), ['/127.0.0.1'])
  })

  it('refuses options that cannot work, saying what to give', async () => {
    await assert.rejects(startBroker({ sasl: { mechanisms: ['PLAIN'], users: {} } }), (e: unknown) => e instanceof BrokerError && /add at least one user/.test(e.message))
    await assert.rejects(startBroker({ sasl: { mechanisms: ['GSSAPI' as 'PLAIN'], users: USERS } }), (e: unknown) => e instanceof BrokerError && /not supported/.test(e.message))
    await assert.rejects(startBroker({ tls: { cert: '', key: certs.brokerKey } }), (e: unknown) => e instanceof BrokerError && /tls\.cert/.test(e.message))
  })

  it('a plaintext client against a TLS listener does not hang the broker', async () => {
    const b = await broker({ tls: { cert: certs.brokerCert, key: certs.brokerKey } })
    const connection = await TestConnection.open(b.bootstrap[0]!)
    await assert.rejects(connection.request(ApiVersions, 0, {}, 5000))
    const socket = tlsConnect({ host: '127.0.0.1', port: b.nodes[0]!.port, ca: certs.ca, servername: 'localhost' })
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject))
    socket.destroy()
  })
})
