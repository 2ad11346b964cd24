/**
 * A transactional producer at the wire level, for broker tests that must choose each request
 * (versions, epochs, order) themselves: one connection per node, requests sent to the
 * transaction coordinator, the group coordinator or the partition leader as a client would.
 */
import type { EmbeddedBroker } from '../../../src/broker/index.js'
import {
  AddOffsetsToTxn,
  AddPartitionsToTxn,
  EndTxn,
  FindCoordinator,
  InitProducerId,
  Produce,
  TxnOffsetCommit,
} from '../../../src/protocol/generated/index.js'
import { TestConnection } from '../helpers/connection.js'
import { transactionalBatch } from './helpers.js'

export class Wire {
  private constructor(
    private readonly leaderOf: (topic: string, partition: number) => number,
    readonly conns: TestConnection[],
  ) {}

  static async open(broker: EmbeddedBroker): Promise<Wire> {
    return Wire.connect(broker.bootstrap, (topic, partition) => broker.topic(topic)!.leaders[partition]!)
  }

  /** For a broker in another process: `leaderOf` says which node leads a partition. */
  static async connect(bootstrap: readonly string[], leaderOf: (topic: string, partition: number) => number): Promise<Wire> {
    return new Wire(leaderOf, await Promise.all(bootstrap.map((b) => TestConnection.open(b))))
  }

  async close(): Promise<void> {
    await Promise.all(this.conns.map((c) => c.close()))
  }

  async coordinator(key: string, keyType: 0 | 1): Promise<TestConnection> {
    const found = await this.conns[0]!.request(FindCoordinator, 3, { key, keyType })
    if (found.errorCode !== 0) throw new Error(`FindCoordinator ${key} failed with ${found.errorCode}`)
    return this.conns[found.nodeId]!
  }

  leader(topic: string, partition: number): TestConnection {
    return this.conns[this.leaderOf(topic, partition)]!
  }
}

/** One transactional producer: its id, epoch and per-partition sequences. */
export class WireProducer {
  producerId = -1n
  producerEpoch = -1
  private readonly sequences = new Map<string, number>()

  constructor(
    private readonly wire: Wire,
    readonly transactionalId: string,
    private readonly timeoutMs = 60_000,
  ) {}

  async init(version = 4): Promise<number> {
    const conn = await this.wire.coordinator(this.transactionalId, 1)
    for (let attempt = 0; ; attempt++) {
      const r = await conn.request(InitProducerId, version, { transactionalId: this.transactionalId, transactionTimeoutMs: this.timeoutMs })
      if (r.errorCode === 51 && attempt < 20) continue // CONCURRENT_TRANSACTIONS: the old transaction is being aborted
      if (r.errorCode === 0) {
        this.producerId = r.producerId
        this.producerEpoch = r.producerEpoch
        this.sequences.clear()
      }
      return r.errorCode
    }
  }

  async addPartitions(partitions: { topic: string; partition: number }[], version = 3): Promise<number[]> {
    const conn = await this.wire.coordinator(this.transactionalId, 1)
    const topics = [...new Set(partitions.map((p) => p.topic))].map((name) => ({ name, partitions: partitions.filter((p) => p.topic === name).map((p) => p.partition) }))
    const r = await conn.request(AddPartitionsToTxn, version, {
      v3AndBelowTransactionalId: this.transactionalId,
      v3AndBelowProducerId: this.producerId,
      v3AndBelowProducerEpoch: this.producerEpoch,
      v3AndBelowTopics: topics,
    })
    return r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((p) => p.partitionErrorCode))
  }

  async addOffsets(groupId: string): Promise<number> {
    const conn = await this.wire.coordinator(this.transactionalId, 1)
    const r = await conn.request(AddOffsetsToTxn, 3, { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, groupId })
    return r.errorCode
  }

  async end(commit: boolean, version = 3): Promise<number> {
    const conn = await this.wire.coordinator(this.transactionalId, 1)
    const r = await conn.request(EndTxn, version, { transactionalId: this.transactionalId, producerId: this.producerId, producerEpoch: this.producerEpoch, committed: commit })
    return r.errorCode
  }

  /** Produces `values` as one transactional batch (or a plain idempotent one); returns error and base offset. */
  async produce(topic: string, partition: number, values: readonly string[], transactional = true): Promise<{ errorCode: number; baseOffset: bigint }> {
    const key = `${topic}\0${partition}`
    const sequence = this.sequences.get(key) ?? 0
    const r = await this.wire.leader(topic, partition).request(Produce, 9, {
      transactionalId: transactional ? this.transactionalId : null,
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: transactionalBatch(values, this.producerId, this.producerEpoch, sequence, transactional) }] }],
    })
    const answer = r.responses[0]!.partitionResponses[0]!
    if (answer.errorCode === 0) this.sequences.set(key, sequence + values.length)
    return { errorCode: answer.errorCode, baseOffset: answer.baseOffset }
  }

  async commitOffsets(
    groupId: string,
    offsets: { topic: string; partition: number; offset: bigint }[],
    member: { generationId: number; memberId: string; groupInstanceId?: string | null } = { generationId: -1, memberId: '' },
  ): Promise<number[]> {
    const conn = await this.wire.coordinator(groupId, 0)
    const topics = [...new Set(offsets.map((o) => o.topic))].map((name) => ({
      name,
      partitions: offsets.filter((o) => o.topic === name).map((o) => ({ partitionIndex: o.partition, committedOffset: o.offset })),
    }))
    const r = await conn.request(TxnOffsetCommit, 3, {
      transactionalId: this.transactionalId,
      groupId,
      producerId: this.producerId,
      producerEpoch: this.producerEpoch,
      generationId: member.generationId,
      memberId: member.memberId,
      groupInstanceId: member.groupInstanceId ?? null,
      topics,
    })
    return r.topics.flatMap((t) => t.partitions.map((p) => p.errorCode))
  }
}
