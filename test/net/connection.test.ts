import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { afterEach, describe, it } from 'node:test'
import { Connection } from '../../src/net/connection.js'
import { RESPONSE_CHANNEL, type ResponseEvent } from '../../src/net/diagnostics.js'
import { NetworkError, UnsupportedVersionError } from '../../src/net/errors.js'
import { CLIENT_VERSIONS } from '../../src/net/versions.js'
import { ListGroups, Metadata } from '../../src/protocol/generated/index.js'
import { ConfigError } from '../../src/protocol/errors/base.js'
import { CLOSE, FakeServer, HANG } from './helpers/fake-server.js'

const servers: FakeServer[] = []
const connections: Connection[] = []

async function setup(options: ConstructorParameters<typeof Connection>[0] extends infer O ? Partial<O> : never = {}, serverOptions = {}) {
  const server = await FakeServer.start(serverOptions)
  servers.push(server)
  const connection = new Connection({ host: server.host, port: server.port, ...options })
  connections.push(connection)
  return { server, connection }
}

const emptyMetadata = { brokers: [], topics: [] }

afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()))
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

describe('Connection', () => {
  it('negotiates the highest version both sides support', async () => {
    const versions = new Map(CLIENT_VERSIONS)
    versions.set(Metadata.apiKey, { min: 0, max: 7 })
    const { server, connection } = await setup({}, { versions })
    server.on(Metadata, () => emptyMetadata)
    await connection.request(Metadata, { topics: [] })
    const request = await server.waitFor((r) => r.apiKey === Metadata.apiKey)
    assert.equal(request.version, 7)
    assert.equal(connection.versionFor(Metadata), 7)
  })

  it('falls back to an older ApiVersions when the broker answers UNSUPPORTED_VERSION in v0', async () => {
    const { server, connection } = await setup({}, { maxApiVersionsVersion: 2 })
    server.on(Metadata, () => emptyMetadata)
    await connection.request(Metadata, { topics: [] })
    assert.equal(connection.ready, true)
  })

  it('falls back to ApiVersions v0 when the unsupported-version answer cannot be read (librdkafka mock)', async () => {
    const { server, connection } = await setup({}, { maxApiVersionsVersion: 2, garbledUnsupportedApiVersions: true })
    server.on(Metadata, () => emptyMetadata)
    await connection.request(Metadata, { topics: [] })
    assert.equal(connection.versionFor(Metadata), CLIENT_VERSIONS.get(Metadata.apiKey)?.max)
  })

  it('reads responses that carry trailing bytes, as Kafka clients do', async () => {
    const { server, connection } = await setup({}, { trailingBytes: 1 })
    server.on(Metadata, () => ({ brokers: [{ nodeId: 3, host: 'h', port: 1 }], topics: [] }))
    const response = await connection.request(Metadata, { topics: [] })
    assert.equal(response.brokers[0]?.nodeId, 3)
  })

  it('fails with UnsupportedVersionError when the broker lacks the API', async () => {
    const versions = new Map(CLIENT_VERSIONS)
    versions.delete(ListGroups.apiKey)
    const { connection } = await setup({}, { versions })
    await assert.rejects(connection.request(ListGroups, {}), UnsupportedVersionError)
  })

  it('pipelines requests up to the in-flight cap and matches responses by correlation id', async () => {
    const { server, connection } = await setup({ maxInFlightRequests: 3 })
    let openGate!: () => void
    const gate = new Promise<void>((resolve) => (openGate = resolve))
    server.on(Metadata, async (request) => {
      await gate
      const name = request.body.topics?.[0]?.name ?? 'none'
      return { brokers: [], topics: [{ errorCode: 0, name, partitions: [] }] }
    })
    const names = ['a', 'b', 'c', 'd', 'e', 'f']
    const results = names.map((name) => connection.request(Metadata, { topics: [{ name }] }))
    // Three requests reach the broker while it holds the first answer: the client pipelines, and
    // the fourth waits for a free slot.
    await server.waitFor(() => server.received.length >= 3)
    assert.equal(server.received.length, 3)
    assert.equal(connection.pendingRequests, 6)
    openGate()
    const responses = await Promise.all(results)
    assert.deepEqual(
      responses.map((r) => r.topics[0]?.name),
      names,
    )
    assert.deepEqual(
      server.received.map((r) => (r.body as { topics: Array<{ name: string }> }).topics[0]?.name),
      names,
    )
  })

  it('fails queued and in-flight requests with NET_CLOSED on close', async () => {
    const { server, connection } = await setup({ maxInFlightRequests: 2 })
    server.on(Metadata, () => HANG)
    const results = [1, 2, 3, 4].map(() => connection.request(Metadata, { topics: [] }).catch((e: unknown) => e))
    await server.waitFor(() => server.received.length >= 2)
    assert.equal(connection.pendingRequests, 4)
    await connection.close()
    for (const result of await Promise.all(results)) {
      assert.ok(result instanceof NetworkError)
      assert.equal(result.code, 'NET_CLOSED')
      assert.equal(result.api, 'Metadata')
    }
    assert.equal(server.received.length, 2)
  })

  it('times out a request, closes the connection, and reconnects for the next one', async () => {
    const { server, connection } = await setup({ requestTimeoutMs: 100, reconnectBackoffMs: 10 })
    let calls = 0
    server.on(Metadata, () => (++calls === 1 ? HANG : emptyMetadata))
    const error = await connection.request(Metadata, { topics: [] }).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(error instanceof NetworkError)
    assert.equal(error.code, 'NET_REQUEST_TIMEOUT')
    assert.equal(error.retriable, true)
    await connection.request(Metadata, { topics: [] })
    assert.equal(server.connections, 2)
  })

  it('fails in-flight requests with a retriable error when the peer closes mid-request', async () => {
    const { server, connection } = await setup({ reconnectBackoffMs: 10 })
    let calls = 0
    server.on(Metadata, () => (++calls === 1 ? CLOSE : emptyMetadata))
    await assert.rejects(connection.request(Metadata, { topics: [] }), (e: unknown) => e instanceof NetworkError && e.code === 'NET_CONNECTION_LOST' && e.retriable)
    await connection.request(Metadata, { topics: [] })
  })

  it('backs off between failed connection attempts', async () => {
    const { server, connection } = await setup({ reconnectBackoffMs: 150, reconnectBackoffMaxMs: 1000, random: () => 0.5 })
    const port = server.port
    await server.close()
    servers.length = 0
    const first = Date.now()
    await assert.rejects(connection.connect(), (e: unknown) => e instanceof NetworkError && e.code === 'NET_CONNECT_FAILED')
    const second = Date.now()
    await assert.rejects(connection.connect(), NetworkError)
    const elapsed = Date.now() - second
    assert.ok(elapsed >= 140, `second attempt waited ${elapsed} ms, expected the 150 ms backoff`)
    assert.ok(second - first < 1000)
    assert.equal(connection.port, port)
  })

  it('rejects requests after close with NET_CLOSED', async () => {
    const { server, connection } = await setup()
    server.on(Metadata, () => emptyMetadata)
    await connection.request(Metadata, { topics: [] })
    await connection.close()
    await assert.rejects(connection.request(Metadata, { topics: [] }), (e: unknown) => e instanceof NetworkError && e.code === 'NET_CLOSED' && !e.retriable)
  })

  it('publishes request and response events on diagnostics_channel', async () => {
    const { server, connection } = await setup()
    server.on(Metadata, () => emptyMetadata)
    const events: ResponseEvent[] = []
    const listener = (message: unknown): void => {
      events.push(message as ResponseEvent)
    }
    diagnostics.subscribe(RESPONSE_CHANNEL, listener)
    try {
      await connection.request(Metadata, { topics: [] })
    } finally {
      diagnostics.unsubscribe(RESPONSE_CHANNEL, listener)
    }
    const metadata = events.find((e) => e.apiName === 'Metadata')
    assert.ok(metadata)
    assert.equal(metadata.error, undefined)
    assert.ok(metadata.responseBytes > 0)
    assert.ok(events.some((e) => e.apiName === 'ApiVersions'))
  })

  it('validates options up front and names the bad option', () => {
    assert.throws(() => new Connection({ host: 'localhost', port: 0 }), (e: unknown) => e instanceof ConfigError && e.option === 'port' && /1-65535/.test(e.message))
    assert.throws(() => new Connection({ host: 'localhost', port: 9092, requestTimeoutMs: -1 }), (e: unknown) => e instanceof ConfigError && e.option === 'requestTimeoutMs')
  })
})
