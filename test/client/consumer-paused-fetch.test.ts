/**
 * What the consumer puts in its Fetch requests while a partition is paused.
 *
 * This stays on the scripted fake (helpers/mock-cluster.ts) because it reads the body of every
 * Fetch request the consumer sent, which the embedded broker does not record for a test (the
 * client's diagnostics say which API went where, not what it asked for). Everything else about
 * the consumer runs against the embedded broker, in consumer.test.ts.
 */
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { Consumer, type ConsumerConfig } from '../../src/client/consumer/consumer.js'
import { Fetch } from '../../src/protocol/generated/index.js'
import { encodeRecordBatch } from '../../src/protocol/records/index.js'
import { MockCluster } from './helpers/mock-cluster.js'
import { take } from './helpers/take.js'

const clusters: MockCluster[] = []
const consumers: Consumer[] = []

async function setup(nodes = 1, config: Partial<ConsumerConfig> = {}) {
  const cluster = await MockCluster.start(nodes)
  clusters.push(cluster)
  cluster.createTopic('t', 3)
  const consumer = new Consumer({ bootstrapServers: cluster.bootstrap, fetchMaxWaitMs: 100, retryBackoffMs: 5, retryBackoffMaxMs: 20, ...config })
  consumers.push(consumer)
  return { cluster, consumer }
}

function produce(cluster: MockCluster, partition: number, values: string[]): void {
  cluster.append(
    't',
    partition,
    encodeRecordBatch({
      records: values.map((value, i) => ({ key: `k${i}`, value, timestamp: 1_700_000_000_000 + i })),
    }),
  )
}

afterEach(async () => {
  await Promise.all(consumers.splice(0).map((c) => c.close()))
  await Promise.all(clusters.splice(0).map((c) => c.close()))
})

describe('Consumer fetch requests', () => {
  it('pause() stops fetching and delivery for a partition until resume()', async () => {
    const { cluster, consumer } = await setup()
    produce(cluster, 0, ['p0'])
    produce(cluster, 1, ['p1'])
    await consumer.assign([
      { topic: 't', partition: 0, offset: 0n },
      { topic: 't', partition: 1, offset: 0n },
    ])
    consumer.pause([{ topic: 't', partition: 0 }])
    const [first] = await take(consumer, 1, 5000)
    assert.equal(first?.partition, 1)
    const fetchesBefore = cluster.requests(Fetch).length
    await cluster.nodes[0]!.waitFor(() => cluster.requests(Fetch).length > fetchesBefore)
    for (const request of cluster.requests(Fetch).slice(fetchesBefore)) {
      const partitions = (request.body as { topics: Array<{ partitions: Array<{ partition: number }> }> }).topics.flatMap((t) => t.partitions.map((p) => p.partition))
      assert.ok(!partitions.includes(0), 'a paused partition must not be fetched')
    }
    consumer.resume([{ topic: 't', partition: 0 }])
    const [second] = await take(consumer, 1, 5000)
    assert.equal(second?.partition, 0)
  })
})
