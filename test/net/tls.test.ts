/**
 * TLS: a connection configured with `tls` verifies the broker's certificate and speaks the protocol
 * through it. The certificate is generated with the openssl command; without it the test is skipped.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { connect as netConnect, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:tls'
import { after, before, describe, it } from 'node:test'
import { Connection } from '../../src/net/connection.js'
import { NetworkError } from '../../src/net/errors.js'
import { Metadata } from '../../src/protocol/generated/index.js'
import { FakeServer } from './helpers/fake-server.js'

function generateCertificate(dir: string): { key: Buffer; cert: Buffer } | null {
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    )
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }
  } catch {
    return null
  }
}

const dir = mkdtempSync(join(tmpdir(), 'baton-tls-'))
const material = generateCertificate(dir)

describe('TLS connections', { skip: material === null ? 'openssl is not available' : false }, () => {
  let fake: FakeServer
  let proxy: Server
  let port = 0

  before(async () => {
    fake = await FakeServer.start()
    fake.on(Metadata, () => ({ brokers: [], topics: [] }))
    // A TLS front for the plain fake broker, as a TLS listener in front of Kafka would be.
    proxy = createServer({ key: material!.key, cert: material!.cert }, (tlsSocket) => {
      const upstream = netConnect(fake.port, fake.host)
      tlsSocket.pipe(upstream).pipe(tlsSocket)
      upstream.on('error', () => tlsSocket.destroy())
      tlsSocket.on('error', () => upstream.destroy())
      tlsSocket.on('close', () => upstream.destroy())
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    port = (proxy.address() as AddressInfo).port
  })

  after(async () => {
    await new Promise<void>((resolve) => proxy.close(() => resolve()))
    await fake.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('connects, negotiates and sends requests over TLS when the CA is trusted', async () => {
    const connection = new Connection({ host: 'localhost', port, tls: { ca: material!.cert } })
    try {
      const response = await connection.request(Metadata, { topics: [] })
      assert.deepEqual(response.topics, [])
      assert.equal(connection.ready, true)
    } finally {
      await connection.close()
    }
  })

  it('refuses a certificate it cannot verify', async () => {
    const connection = new Connection({ host: 'localhost', port, tls: true })
    try {
      await assert.rejects(connection.connect(), (e: unknown) => e instanceof NetworkError && e.code === 'NET_TLS_FAILED' && !e.retriable)
    } finally {
      await connection.close()
    }
  })
})
