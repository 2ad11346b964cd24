import assert from 'node:assert/strict'
import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { Cluster } from '../../src/client/cluster.js'
import { resolveClientConfig } from '../../src/client/config.js'
import { ConfigError, MetadataError } from '../../src/client/errors.js'
import { ClusterMetadataSource } from '../../src/client/membership/cluster-adapter.js'
import { DescribeGroups, FindCoordinator, Metadata } from '../../src/protocol/generated/index.js'
import { MockCluster } from './helpers/mock-cluster.js'

const mocks: MockCluster[] = []
const clusters: Cluster[] = []

async function setup(nodes = 3, bootstrapPrefix: string[] = []) {
  const mock = await MockCluster.start(nodes)
  mocks.push(mock)
  mock.createTopic('t', 3)
  const cluster = new Cluster(resolveClientConfig({ bootstrapServers: [...bootstrapPrefix, mock.bootstrap], retryBackoffMs: 5, retryBackoffMaxMs: 20, reconnectBackoffMs: 5 }))
  clusters.push(cluster)
  return { mock, cluster }
}

/** A port nothing listens on: bind one, note it, close it. */
async function deadPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()))
  await Promise.all(mocks.splice(0).map((m) => m.close()))
})

describe('Cluster metadata', () => {
  it('bootstraps past an unreachable address and learns brokers and leaders', async () => {
    const { cluster } = await setup(3, [`127.0.0.1:${await deadPort()}`])
    await cluster.refresh(['t'])
    assert.equal(cluster.brokers.size, 3)
    assert.deepEqual(
      [0, 1, 2].map((p) => cluster.leaderOf('t', p)),
      [0, 1, 2],
    )
  })

  it('fails with a retriable MetadataError naming the addresses when no broker answers', async () => {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: `127.0.0.1:${await deadPort()}` }))
    clusters.push(cluster)
    await assert.rejects(cluster.refresh(), (e: unknown) => e instanceof MetadataError && e.retriable && e.message.includes('127.0.0.1'))
  })

  it('shares one Metadata request between concurrent refreshes', async () => {
    const { mock, cluster } = await setup()
    await cluster.refresh(['t'])
    const before = mock.requests(Metadata).length
    await Promise.all(Array.from({ length: 10 }, () => cluster.refresh()))
    assert.ok(mock.requests(Metadata).length - before <= 2)
  })

  it('ignores metadata carrying an older leader epoch (KIP-320)', async () => {
    const { mock, cluster } = await setup()
    mock.moveLeader('t', 0, 2)
    await cluster.refresh(['t'])
    assert.equal(cluster.leaderOf('t', 0), 2)
    // A lagging broker still reports the old leader with the old epoch.
    mock.fault(Metadata, () => ({
      brokers: mock.nodes.map((n, nodeId) => ({ nodeId, host: n.host, port: n.port })),
      topics: [{ errorCode: 0, name: 't', partitions: [0, 1, 2].map((p) => ({ errorCode: 0, partitionIndex: p, leaderId: p, leaderEpoch: 0, replicaNodes: [p], isrNodes: [p] })) }],
    }))
    await cluster.refresh()
    assert.equal(cluster.leaderOf('t', 0), 2)
    assert.equal(cluster.partition('t', 0)?.leaderEpoch, 1)
  })

  it('takes a newer leader from a response hint at once', async () => {
    const { cluster } = await setup()
    await cluster.refresh(['t'])
    cluster.leaderHint('t', 1, 2, 5)
    assert.equal(cluster.leaderOf('t', 1), 2)
  })

  it('caches coordinators and looks them up again once invalidated', async () => {
    const { mock, cluster } = await setup()
    await cluster.refresh()
    assert.equal(await cluster.coordinator('group', 'g'), 0)
    assert.equal(await cluster.coordinator('group', 'g'), 0)
    assert.equal(mock.requests(FindCoordinator).length, 1)
    cluster.invalidateCoordinator('group', 'g')
    await cluster.coordinator('group', 'g')
    assert.equal(mock.requests(FindCoordinator).length, 2)
  })

  it('refreshes metadata on the metadataMaxAgeMs interval', async () => {
    const mock = await MockCluster.start(1)
    mocks.push(mock)
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: mock.bootstrap, metadataMaxAgeMs: 50 }))
    clusters.push(cluster)
    await cluster.connect()
    await mock.nodes[0]!.waitFor(() => mock.requests(Metadata).length >= 4, 5000)
  })

  it('caches coordinators until invalidated, and lists topics for assignors', async () => {
    const { mock, cluster } = await setup()
    await cluster.refresh()
    const first = await cluster.coordinator('group', 'g')
    const response = await cluster.connectionTo(first).request(DescribeGroups, () => ({ groups: ['g'] }))
    assert.equal(response.groups[0]?.groupId, 'g')
    assert.equal(await cluster.coordinator('group', 'g'), first)
    assert.equal(mock.requests(FindCoordinator).length, 1)
    cluster.invalidateCoordinator('group', 'g')
    await cluster.coordinator('group', 'g')
    assert.equal(mock.requests(FindCoordinator).length, 2)
    const source = new ClusterMetadataSource(cluster)
    assert.deepEqual(await source.partitionCounts(['t', 'missing']), new Map([['t', 3]]))
    assert.deepEqual(await source.listTopics(), ['t'])
  })

  it('validates the client config and names the option', () => {
    assert.throws(() => resolveClientConfig({ bootstrapServers: [] }), (e: unknown) => e instanceof ConfigError && e.option === 'bootstrapServers')
    assert.throws(() => resolveClientConfig({ bootstrapServers: 'h:1', requestTimeoutMs: 0 }), (e: unknown) => e instanceof ConfigError && e.option === 'requestTimeoutMs')
    assert.throws(() => resolveClientConfig({ bootstrapServers: 'h:1', retryBackoffMs: 500, retryBackoffMaxMs: 100 }), (e: unknown) => e instanceof ConfigError && e.option === 'retryBackoffMaxMs')
    assert.throws(
      () => resolveClientConfig({ bootstrapServers: 'h:1', sasl: { mechanism: 'GSSAPI' as never, username: 'u', password: 'p' } }),
      (e: unknown) => e instanceof ConfigError && e.option === 'sasl.mechanism',
    )
  })
})
