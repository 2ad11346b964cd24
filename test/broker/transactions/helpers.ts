/**
 * What transaction tests share: reading a partition the way a consumer does at either isolation
 * level (a read_committed reader skips the records of the aborted transactions the broker lists,
 * as every Kafka consumer does), and transactional batches built with the protocol layer.
 */
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import { Fetch, ListOffsets } from '../../../src/protocol/generated/index.js'
import { decodeRecordBatches, encodeRecordBatch } from '../../../src/protocol/records/index.js'
import { TestConnection } from '../helpers/connection.js'

export type Isolation = 'read_committed' | 'read_uncommitted'

export interface ReadResult {
  readonly values: string[]
  readonly offsets: bigint[]
  readonly lastStableOffset: bigint
  readonly highWatermark: bigint
}

async function onLeader<T>(broker: EmbeddedBroker, topic: string, partition: number, use: (conn: TestConnection) => Promise<T>): Promise<T> {
  const leader = broker.topic(topic)!.leaders[partition]!
  const conn = await TestConnection.open(broker.bootstrap[leader]!)
  try {
    return await use(conn)
  } finally {
    await conn.close()
  }
}

/** Reads the whole partition (up to the LSO for read_committed) and filters it as a consumer would. */
export async function readPartition(broker: EmbeddedBroker, topic: string, partition: number, isolation: Isolation, maxBytes = 8 << 20): Promise<ReadResult> {
  return onLeader(broker, topic, partition, async (conn) => {
    const values: string[] = []
    const offsets: bigint[] = []
    let offset = 0n
    let lastStableOffset: bigint
    let highWatermark: bigint
    const abortedProducers = new Set<bigint>()
    for (;;) {
      const response = await conn.request(Fetch, 12, {
        maxWaitMs: 0,
        minBytes: 0,
        maxBytes,
        isolationLevel: isolation === 'read_committed' ? 1 : 0,
        topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: maxBytes }] }],
      })
      const data = response.responses[0]!.partitions[0]!
      if (data.errorCode !== 0) throw new Error(`fetch of ${topic}-${partition} failed with error ${data.errorCode}`)
      lastStableOffset = data.lastStableOffset
      highWatermark = data.highWatermark
      const aborted = [...(data.abortedTransactions ?? [])].sort((a, b) => Number(a.firstOffset - b.firstOffset))
      const { batches } = decodeRecordBatches(data.records ?? Buffer.alloc(0))
      if (batches.length === 0) return { values, offsets, lastStableOffset, highWatermark }
      for (const batch of batches) {
        while (aborted.length > 0 && aborted[0]!.firstOffset <= batch.lastOffset) abortedProducers.add(aborted.shift()!.producerId)
        offset = batch.lastOffset + 1n
        if (batch.isControl) {
          if (batch.records[0]?.type === 'abort') abortedProducers.delete(batch.producerId)
          if (batch.records[0]?.type === 'commit') abortedProducers.delete(batch.producerId)
          continue
        }
        if (isolation === 'read_committed' && batch.isTransactional && abortedProducers.has(batch.producerId)) continue
        for (const record of batch.records) {
          values.push(record.value?.toString() ?? '')
          offsets.push(record.offset)
        }
      }
    }
  })
}

export async function readValues(broker: EmbeddedBroker, topic: string, partition: number, isolation: Isolation): Promise<string[]> {
  return (await readPartition(broker, topic, partition, isolation)).values
}

/** ListOffsets latest at the isolation level: the LSO for read_committed, the high watermark otherwise. */
export async function latestOffset(broker: EmbeddedBroker, topic: string, partition: number, isolation: Isolation): Promise<bigint> {
  return onLeader(broker, topic, partition, async (conn) => {
    const response = await conn.request(ListOffsets, 5, {
      replicaId: -1,
      isolationLevel: isolation === 'read_committed' ? 1 : 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
    })
    const p = response.topics[0]!.partitions[0]!
    if (p.errorCode !== 0) throw new Error(`ListOffsets of ${topic}-${partition} failed with error ${p.errorCode}`)
    return p.offset
  })
}

export function transactionalBatch(values: readonly string[], producerId: bigint, producerEpoch: number, baseSequence: number, transactional = true): Buffer {
  const now = Date.now()
  return encodeRecordBatch({
    records: values.map((value, i) => ({ key: null, value, timestamp: now + i })),
    producerId,
    producerEpoch,
    baseSequence,
    transactional,
  })
}
