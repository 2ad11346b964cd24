/**
 * The client's view of the cluster: bootstrap, brokers and leaders, metadata refreshes (shared,
 * periodic, never going back to an older leader epoch), coordinators cached until invalidated.
 * Against the embedded broker, but for a lagging broker's stale answer, which only a mock gives.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import type { EmbeddedBroker } from '../../src/broker/index.js'
import { Cluster } from '../../src/client/cluster.js'
import { resolveClientConfig, type ClientConfig } from '../../src/client/config.js'
import { ConfigError, MetadataError } from '../../src/client/errors.js'
import { ClusterMetadataSource } from '../../src/client/membership/cluster-adapter.js'
import { DescribeGroups, FindCoordinator, Metadata } from '../../src/protocol/generated/index.js'
import { EmbeddedCluster, until } from './helpers/embedded-cluster.js'
import { MockCluster } from './helpers/mock-cluster.js'
import { closedPort } from '../helpers/logging.js'

const clusters: Cluster[] = []
const brokers: EmbeddedCluster[] = []
const mocks: MockCluster[] = []

/** An embedded broker with topic `t` (3 partitions) and a client cluster over it, after `bootstrapPrefix`. */
async function setup(nodes = 3, bootstrapPrefix: string[] = [], options: Partial<ClientConfig> = {}): Promise<{ broker: EmbeddedBroker; sent: EmbeddedCluster; cluster: Cluster }> {
  const sent = await EmbeddedCluster.start(nodes)
  brokers.push(sent)
  const broker = sent.broker
  broker.createTopic('t', { partitions: 3 })
  const cluster = new Cluster(resolveClientConfig({ bootstrapServers: [...bootstrapPrefix, ...broker.bootstrap], retryBackoffMs: 5, retryBackoffMaxMs: 20, reconnectBackoffMs: 5, ...options }))
  clusters.push(cluster)
  return { broker, sent, cluster }
}

afterEach(async () => {
  await Promise.all(clusters.splice(0).map((c) => c.close()))
  await Promise.all(brokers.splice(0).map((b) => b.close()))
  await Promise.all(mocks.splice(0).map((m) => m.close()))
})

describe('Cluster metadata', () => {
  it('bootstraps past an unreachable address and learns brokers and leaders', async () => {
    const { broker, cluster } = await setup(3, [`127.0.0.1:${await closedPort()}`])
    await cluster.refresh(['t'])
    assert.equal(cluster.brokers.size, 3)
    assert.deepEqual(
      [0, 1, 2].map((p) => cluster.leaderOf('t', p)),
      broker.topic('t')?.leaders,
    )
  })

  it('fails with a retriable MetadataError naming the addresses when no broker answers', async () => {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: `127.0.0.1:${await closedPort()}` }))
    clusters.push(cluster)
    await assert.rejects(cluster.refresh(), (e: unknown) => e instanceof MetadataError && e.retriable && e.message.includes('127.0.0.1'))
  })

  it('shares one Metadata request between concurrent refreshes', async () => {
    const { sent, cluster } = await setup()
    await cluster.refresh(['t'])
    const before = sent.requests(Metadata).length
    await Promise.all(Array.from({ length: 10 }, () => cluster.refresh()))
    const count = sent.requests(Metadata).length - before
    assert.ok(count >= 1 && count <= 2, `${count} Metadata requests`)
  })

  // A lagging broker's stale answer is something the embedded broker cannot be made to give: a mock.
  it('ignores metadata carrying an older leader epoch (KIP-320)', async () => {
    const mock = await MockCluster.start(3)
    mocks.push(mock)
    mock.createTopic('t', 3)
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: mock.bootstrap, retryBackoffMs: 5, retryBackoffMaxMs: 20, reconnectBackoffMs: 5 }))
    clusters.push(cluster)
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
    const { broker, cluster } = await setup()
    await cluster.refresh(['t'])
    const other = ((broker.topic('t')?.leaders[1] ?? 0) + 1) % 3
    cluster.leaderHint('t', 1, other, 5)
    assert.equal(cluster.leaderOf('t', 1), other)
  })

  it('refreshes metadata on the metadataMaxAgeMs interval', async () => {
    const { sent, cluster } = await setup(1, [], { metadataMaxAgeMs: 50 })
    await cluster.connect()
    await until(() => sent.requests(Metadata).length >= 4, 'four Metadata requests')
  })

  it('caches coordinators until invalidated, and lists topics for assignors', async () => {
    const { sent, cluster } = await setup()
    await cluster.refresh()
    const before = sent.requests(FindCoordinator).length
    const first = await cluster.coordinator('group', 'g')
    const response = await cluster.connectionTo(first).request(DescribeGroups, () => ({ groups: ['g'] }))
    assert.equal(response.groups[0]?.groupId, 'g')
    assert.equal(await cluster.coordinator('group', 'g'), first)
    assert.equal(sent.requests(FindCoordinator).length - before, 1)
    cluster.invalidateCoordinator('group', 'g')
    assert.equal(await cluster.coordinator('group', 'g'), first)
    assert.equal(sent.requests(FindCoordinator).length - before, 2)
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
