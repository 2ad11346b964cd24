/**
 * A scripted stand-in for a cluster, for the few client tests the embedded broker cannot serve:
 * those that read the body of each request the client sent (`requests(api)`: what a Fetch asked
 * for while a partition was paused, what InitProducerId asked for on an epoch bump, the
 * transactional request flow in txn-coordinator.ts), and one that needs a broker answering with
 * stale metadata (an older leader epoch), which a real broker never does on purpose. It keeps no
 * broker rules beyond what those tests touch: metadata, appends and long-polling fetches, a moved
 * leader, and a hook per API. Every other client test runs on the embedded broker
 * (embedded-cluster.ts), which is the real implementation.
 */
import type { ApiSpec } from '../../../src/protocol/codec-runtime.js'
import { Fetch, FindCoordinator, InitProducerId, Metadata, Produce, type FetchRequest, type ProduceRequest } from '../../../src/protocol/generated/index.js'
import { RecordBatchView } from '../../../src/protocol/records/index.js'
import { FakeServer, type HandlerResult, type ReceivedRequest } from '../../net/helpers/fake-server.js'

export interface StoredBatch {
  readonly bytes: Buffer
  readonly baseOffset: bigint
  readonly lastOffset: bigint
  readonly maxTimestamp: number
}

export interface MockPartition {
  leader: number
  leaderEpoch: number
  log: StoredBatch[]
  logStart: bigint
  logEnd: bigint
}

/** Returns a response body to answer instead of the mock, or undefined to let the mock answer. */
export type Fault = (request: ReceivedRequest, nodeId: number) => HandlerResult | undefined | Promise<HandlerResult | undefined>

export class MockCluster {
  readonly nodes: FakeServer[] = []
  readonly topics = new Map<string, MockPartition[]>()
  private readonly faults = new Map<number, Fault>()
  private nextProducerId = 1000n
  private appendWaiters: Array<() => void> = []

  static async start(nodeCount = 1): Promise<MockCluster> {
    const cluster = new MockCluster()
    for (let i = 0; i < nodeCount; i++) cluster.nodes.push(await FakeServer.start())
    cluster.nodes.forEach((node, id) => cluster.install(node, id))
    return cluster
  }

  get bootstrap(): string {
    return this.nodes.map((n) => `${n.host}:${n.port}`).join(',')
  }

  createTopic(name: string, partitions: number, leaderOf: (partition: number) => number = (p) => p % this.nodes.length): void {
    this.topics.set(
      name,
      Array.from({ length: partitions }, (_, p) => ({
        leader: leaderOf(p),
        leaderEpoch: 0,
        log: [],
        logStart: 0n,
        logEnd: 0n,
      })),
    )
  }

  partition(topic: string, partition: number): MockPartition {
    const p = this.topics.get(topic)?.[partition]
    if (p === undefined) throw new Error(`no partition ${topic}-${partition}`)
    return p
  }

  moveLeader(topic: string, partition: number, leader: number): void {
    const p = this.partition(topic, partition)
    p.leader = leader
    p.leaderEpoch++
  }

  /** Installs a fault for one API; it sees every request of that API first. */
  fault(api: ApiSpec, fault: Fault | undefined): void {
    if (fault === undefined) this.faults.delete(api.apiKey)
    else this.faults.set(api.apiKey, fault)
  }

  /** Every request of an API the cluster received, all nodes. */
  requests(api: ApiSpec): ReceivedRequest[] {
    return this.nodes.flatMap((n) => n.received.filter((r) => r.apiKey === api.apiKey))
  }

  /** Appends raw batch bytes as a producer would (offsets assigned here). */
  append(topic: string, partition: number, bytes: Buffer): bigint {
    const p = this.partition(topic, partition)
    const copy = Buffer.from(bytes)
    const view = RecordBatchView.at(copy, 0)
    const base = p.logEnd
    view.setBaseOffset(base)
    view.setPartitionLeaderEpoch(p.leaderEpoch)
    p.log.push({ bytes: copy, baseOffset: base, lastOffset: view.lastOffset, maxTimestamp: view.maxTimestamp })
    p.logEnd = view.lastOffset + 1n
    for (const wake of this.appendWaiters.splice(0)) wake()
    return base
  }

  async close(): Promise<void> {
    for (const wake of this.appendWaiters.splice(0)) wake()
    await Promise.all(this.nodes.map((n) => n.close()))
  }

  private install(node: FakeServer, nodeId: number): void {
    const wrap = <Req, ReqInit, Res, ResInit>(api: ApiSpec<Req, ReqInit, Res, ResInit>, handle: (request: ReceivedRequest & { body: Req }) => ResInit | Promise<ResInit>) => {
      node.on(api, async (request) => {
        const fault = this.faults.get(api.apiKey)
        if (fault !== undefined) {
          const result = await fault(request, nodeId)
          if (result !== undefined) return result
        }
        return handle(request)
      })
    }
    wrap(Metadata, (request) => this.metadata(request.body.topics?.map((t) => t.name ?? '') ?? null))
    wrap(Produce, (request) => this.produce(nodeId, request.body, request.version))
    wrap(Fetch, (request) => this.fetch(nodeId, request.body))
    wrap(InitProducerId, (request) => {
      if (request.body.producerId >= 0n) return { throttleTimeMs: 0, errorCode: 0, producerId: request.body.producerId, producerEpoch: request.body.producerEpoch + 1 }
      return { throttleTimeMs: 0, errorCode: 0, producerId: this.nextProducerId++, producerEpoch: 0 }
    })
    wrap(FindCoordinator, () => ({ errorCode: 0, nodeId: 0, host: this.nodes[0]!.host, port: this.nodes[0]!.port }))
  }

  private metadata(names: string[] | null) {
    const list = names ?? [...this.topics.keys()]
    return {
      clusterId: 'mock-cluster',
      controllerId: 0,
      brokers: this.nodes.map((n, nodeId) => ({ nodeId, host: n.host, port: n.port })),
      topics: list.map((name) => {
        const partitions = this.topics.get(name)
        if (partitions === undefined) return { errorCode: 3, name, partitions: [] }
        return {
          errorCode: 0,
          name,
          partitions: partitions.map((p, partitionIndex) => ({
            errorCode: 0,
            partitionIndex,
            leaderId: p.leader,
            leaderEpoch: p.leaderEpoch,
            replicaNodes: [p.leader],
            isrNodes: [p.leader],
          })),
        }
      }),
    }
  }

  private produce(nodeId: number, body: ProduceRequest, version: number) {
    return {
      responses: body.topicData.map((t) => ({
        name: t.name,
        partitionResponses: t.partitionData.map((pd) => {
          const part = this.topics.get(t.name)?.[pd.index]
          const fail = (errorCode: number) => ({ index: pd.index, errorCode, baseOffset: -1n })
          if (part === undefined) return fail(3)
          if (part.leader !== nodeId) {
            return { ...fail(6), ...(version >= 10 ? { currentLeader: { leaderId: part.leader, leaderEpoch: part.leaderEpoch } } : {}) }
          }
          RecordBatchView.at(pd.records!, 0, { verifyCrc: true })
          return { index: pd.index, errorCode: 0, baseOffset: this.append(t.name, pd.index, pd.records!) }
        }),
      })),
    }
  }

  private async fetch(nodeId: number, body: FetchRequest) {
    const build = () => {
      let total = 0
      const responses = body.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((fp) => {
          const part = this.topics.get(t.topic)?.[fp.partition]
          const base = { partitionIndex: fp.partition, highWatermark: -1n, records: null }
          if (part === undefined) return { ...base, errorCode: 3 }
          if (part.leader !== nodeId) return { ...base, errorCode: 6, currentLeader: { leaderId: part.leader, leaderEpoch: part.leaderEpoch } }
          if (fp.fetchOffset < part.logStart || fp.fetchOffset > part.logEnd) return { ...base, errorCode: 1 }
          const chunks: Buffer[] = []
          let size = 0
          for (const batch of part.log) {
            if (batch.lastOffset < fp.fetchOffset) continue
            if (size > 0 && size + batch.bytes.length > fp.partitionMaxBytes) break
            chunks.push(batch.bytes)
            size += batch.bytes.length
          }
          total += size
          return {
            partitionIndex: fp.partition,
            errorCode: 0,
            highWatermark: part.logEnd,
            lastStableOffset: part.logEnd,
            logStartOffset: part.logStart,
            abortedTransactions: null,
            records: Buffer.concat(chunks),
          }
        }),
      }))
      return { total, responses }
    }
    let result = build()
    if (result.total === 0 && body.maxWaitMs > 0) {
      // Long poll: answer when data arrives or the wait runs out, as a broker does.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, body.maxWaitMs)
        this.appendWaiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
      result = build()
    }
    return { throttleTimeMs: 0, errorCode: 0, sessionId: 0, responses: result.responses }
  }
}
