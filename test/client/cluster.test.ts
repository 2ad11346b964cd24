/**
 * The client's view of the cluster: bootstrap, brokers and leaders, metadata refreshes (shared,
 * periodic, never going back to an older leader epoch), coordinators cached until invalidated.
 * Against the embedded broker, but for a lagging broker's stale answer, which only a mock gives.
 */
import assert from 'node:assert/strict'
import diagnostics from 'node:diagnostics_channel'
import { createServer, type AddressInfo } from 'node:net'
import { afterEach, describe, it } from 'node:test'
import { startBroker, type EmbeddedBroker } from '../../src/broker/index.js'
import { Cluster } from '../../src/client/cluster.js'
import { resolveClientConfig, type ClientConfig } from '../../src/client/config.js'
import { ConfigError, MetadataError } from '../../src/client/errors.js'
import { ClusterMetadataSource } from '../../src/client/membership/cluster-adapter.js'
import { REQUEST_CHANNEL, type RequestEvent } from '../../src/net/diagnostics.js'
import { DescribeGroups, FindCoordinator, Metadata } from '../../src/protocol/generated/index.js'
import { MockCluster } from './helpers/mock-cluster.js'

const clusters: Cluster[] = []
const brokers: EmbeddedBroker[] = []
const mocks: MockCluster[] = []

/** An embedded broker with topic `t` (3 partitions) and a client cluster over it, after `bootstrapPrefix`. */
async function setup(nodes = 3, bootstrapPrefix: string[] = [], options: Partial<ClientConfig> = {}): Promise<{ broker: EmbeddedBroker; cluster: Cluster }> {
  const broker = await startBroker({ nodes, memory: true, autoCreateTopics: false })
  brokers.push(broker)
  broker.createTopic('t', { partitions: 3 })
  const cluster = new Cluster(resolveClientConfig({ bootstrapServers: [...bootstrapPrefix, ...broker.bootstrap], retryBackoffMs: 5, retryBackoffMaxMs: 20, reconnectBackoffMs: 5, ...options }))
  clusters.push(cluster)
  return { broker, cluster }
}

interface RequestCount {
  readonly count: number
  /** Resolves once `n` requests were counted; rejects after `ms`. */
  reached(n: number, ms?: number): Promise<void>
  stop(): void
}

/** Counts the requests of one API this process sends to `broker`, from the client's request events. */
function countRequests(broker: EmbeddedBroker, api: { apiKey: number }): RequestCount {
  const ports = broker.bootstrap.map((address) => address.slice(address.lastIndexOf(':')))
  let count = 0
  let waiter: { n: number; resolve: () => void } | undefined
  const listener = (message: unknown): void => {
    const event = message as RequestEvent
    if (event.apiKey !== api.apiKey || !ports.some((port) => event.broker.includes(port))) return
    count++
    if (waiter !== undefined && count >= waiter.n) waiter.resolve()
  }
  diagnostics.subscribe(REQUEST_CHANNEL, listener)
  return {
    get count() {
      return count
    },
    reached(n, ms = 5000) {
      if (count >= n) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${count} of ${n} requests within ${ms} ms`)), ms)
        waiter = {
          n,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        }
      })
    },
    stop: () => diagnostics.unsubscribe(REQUEST_CHANNEL, listener),
  }
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
  await Promise.all(brokers.splice(0).map((b) => b.stop()))
  await Promise.all(mocks.splice(0).map((m) => m.close()))
})

describe('Cluster metadata', () => {
  it('bootstraps past an unreachable address and learns brokers and leaders', async () => {
    const { broker, cluster } = await setup(3, [`127.0.0.1:${await deadPort()}`])
    await cluster.refresh(['t'])
    assert.equal(cluster.brokers.size, 3)
    assert.deepEqual(
      [0, 1, 2].map((p) => cluster.leaderOf('t', p)),
      broker.topic('t')?.leaders,
    )
  })

  it('fails with a retriable MetadataError naming the addresses when no broker answers', async () => {
    const cluster = new Cluster(resolveClientConfig({ bootstrapServers: `127.0.0.1:${await deadPort()}` }))
    clusters.push(cluster)
    await assert.rejects(cluster.refresh(), (e: unknown) => e instanceof MetadataError && e.retriable && e.message.includes('127.0.0.1'))
  })

  it('shares one Metadata request between concurrent refreshes', async () => {
    const { broker, cluster } = await setup()
    await cluster.refresh(['t'])
    const metadata = countRequests(broker, Metadata)
    try {
      await Promise.all(Array.from({ length: 10 }, () => cluster.refresh()))
      assert.ok(metadata.count >= 1 && metadata.count <= 2, `${metadata.count} Metadata requests`)
    } finally {
      metadata.stop()
    }
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
    const { broker, cluster } = await setup(1, [], { metadataMaxAgeMs: 50 })
    const metadata = countRequests(broker, Metadata)
    try {
      await cluster.connect()
      await metadata.reached(4)
    } finally {
      metadata.stop()
    }
  })

  it('caches coordinators until invalidated, and lists topics for assignors', async () => {
    const { broker, cluster } = await setup()
    await cluster.refresh()
    const findCoordinator = countRequests(broker, FindCoordinator)
    try {
      const first = await cluster.coordinator('group', 'g')
      const response = await cluster.connectionTo(first).request(DescribeGroups, () => ({ groups: ['g'] }))
      assert.equal(response.groups[0]?.groupId, 'g')
      assert.equal(await cluster.coordinator('group', 'g'), first)
      assert.equal(findCoordinator.count, 1)
      cluster.invalidateCoordinator('group', 'g')
      assert.equal(await cluster.coordinator('group', 'g'), first)
      assert.equal(findCoordinator.count, 2)
    } finally {
      findCoordinator.stop()
    }
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
