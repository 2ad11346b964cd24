/**
 * The embedded broker as client tests use it: a cluster of in-memory nodes whose faults
 * (`broker.faults`: delayed or failed requests by API, dropped connections, moved leaders) script
 * what a real cluster does at its worst, plus what those tests read back — the requests the client
 * sent (from its own diagnostics channel), and the batches a partition holds (fetched over the
 * wire, as any client would see them).
 */
import diagnostics from 'node:diagnostics_channel'
import { startBroker, type BrokerOptions, type EmbeddedBroker } from '../../../src/broker/index.js'
import { REQUEST_CHANNEL, type RequestEvent } from '../../../src/net/diagnostics.js'
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { Fetch, Produce } from '../../../src/protocol/generated/index.js'
import { decodeRecordBatches, type DataRecordBatch, type DecodedRecordBatch } from '../../../src/protocol/records/index.js'
import { TestConnection } from '../../broker/helpers/connection.js'

export class EmbeddedCluster {
  private readonly sent: RequestEvent[] = []
  private readonly listen = (message: unknown): void => {
    const event = message as RequestEvent
    if (this.broker.nodes.some((n) => event.broker.includes(`:${n.port}`))) this.sent.push(event)
  }

  private constructor(readonly broker: EmbeddedBroker) {
    diagnostics.subscribe(REQUEST_CHANNEL, this.listen)
  }

  /** `nodes` nodes in memory, topics only when created (by the test or a client's CreateTopics). */
  static async start(nodes = 1, options: BrokerOptions = {}): Promise<EmbeddedCluster> {
    return new EmbeddedCluster(await startBroker({ nodes, memory: true, autoCreateTopics: false, ...options }))
  }

  get bootstrap(): string[] {
    return this.broker.bootstrap
  }

  /** Every request of `api` a client sent to this cluster so far, in order. */
  requests(api: ApiSpec): RequestEvent[] {
    return this.sent.filter((r) => r.apiKey === api.apiKey)
  }

  /** Whether a request went to node `nodeId` (a client names a connection by its address). */
  sentTo(event: RequestEvent, nodeId: number): boolean {
    const node = this.broker.nodes.find((n) => n.nodeId === nodeId)
    return node !== undefined && event.broker.includes(`:${node.port}`)
  }

  /** Appends one encoded batch to a partition through its leader, as a producer would; resolves with its base offset. */
  async append(topic: string, partition: number, batch: Buffer): Promise<bigint> {
    const connection = await this.leaderConnection(topic, partition)
    try {
      const answer = await connection.request(Produce, 9, { acks: -1, timeoutMs: 5000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] })
      const result = answer.responses[0]?.partitionResponses[0]
      if (result === undefined || result.errorCode !== 0) throw new Error(`appending to ${topic}-${partition} failed with error ${result?.errorCode}`)
      return result.baseOffset
    } finally {
      await connection.close()
    }
  }

  /** The data batches of a partition, from its log start, as its leader serves them. */
  async batches(topic: string, partition: number): Promise<DataRecordBatch[]> {
    return (await this.everyBatch(topic, partition)).filter((b): b is DataRecordBatch => !b.isControl)
  }

  /** The transaction markers of a partition, in offset order. */
  async markers(topic: string, partition: number): Promise<string[]> {
    return (await this.everyBatch(topic, partition)).flatMap((b) => (b.isControl ? b.records.map((r) => r.type) : []))
  }

  /** Data and control batches of a partition, from its log start (read_uncommitted). */
  private async everyBatch(topic: string, partition: number): Promise<DecodedRecordBatch[]> {
    const connection = await this.leaderConnection(topic, partition)
    try {
      const batches: DecodedRecordBatch[] = []
      let offset = BigInt(this.broker.offsets(topic, partition).logStartOffset)
      const end = BigInt(this.broker.offsets(topic, partition).logEndOffset)
      while (offset < end) {
        const fetched = await connection.request(Fetch, 12, {
          maxWaitMs: 0,
          minBytes: 0,
          maxBytes: 64 << 20,
          topics: [{ topic, partitions: [{ partition, fetchOffset: offset, partitionMaxBytes: 64 << 20 }] }],
        })
        const records = fetched.responses[0]?.partitions[0]?.records ?? null
        if (records === null || records.length === 0) break
        for (const batch of decodeRecordBatches(records).batches) {
          batches.push(batch)
          offset = batch.lastOffset + 1n
        }
      }
      return batches
    } finally {
      await connection.close()
    }
  }

  /** Record values of a partition, in offset order. */
  async values(topic: string, partition: number): Promise<string[]> {
    return (await this.batches(topic, partition)).flatMap((b) => b.records.map((r) => r.value?.toString() ?? ''))
  }

  private leaderConnection(topic: string, partition: number): Promise<TestConnection> {
    const leader = this.broker.topic(topic)?.leaders[partition]
    const node = this.broker.nodes.find((n) => n.nodeId === leader)
    if (node === undefined) throw new Error(`no leader for ${topic}-${partition}`)
    return TestConnection.open(`${node.host}:${node.port}`)
  }

  async close(): Promise<void> {
    diagnostics.unsubscribe(REQUEST_CHANNEL, this.listen)
    await this.broker.stop()
  }
}

/** Waits until `condition` holds, checking every few milliseconds; fails naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
}
